// SPDX-License-Identifier: Apache-2.0
// Reads the build-time list of bundled model names and the family (package) providing each.
#include "plugins/known_families.hpp"

#define BOOST_DLL_USE_STD_FS 1
#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>

namespace ckpt::host {

namespace fs = std::filesystem;

namespace {

bool same_ignoring_case(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

fs::path known_models_file()
{
    std::error_code ec;
    fs::path exe = boost::dll::program_location(ec);
    if (ec)
        return {};
    return exe.parent_path().parent_path() / "share" / "ckptconv" / "known-models.tsv";
}

std::optional<KnownFamily> known_family_of(std::string_view model, const fs::path& file)
{
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const size_t tab1 = line.find('\t');
        const size_t tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
        if (tab2 == std::string::npos || !same_ignoring_case(std::string_view(line).substr(0, tab1), model))
            continue;
        KnownFamily f{line.substr(tab1 + 1, tab2 - tab1 - 1), line.substr(tab2 + 1), ""};
        if (f.family.empty() || f.package.empty())
            continue;
        f.component = "plugin_" + f.family;
        return f;
    }
    return std::nullopt;
}

} // namespace ckpt::host
