// SPDX-License-Identifier: Apache-2.0
// The one JSON writer of the CLI's `--json` results: RapidJSON's PrettyWriter, arrays on one line.
#include "json_output.hpp"

#include <algorithm>
#include <ostream>

namespace ckpt::cli {

JsonOutput::JsonOutput() : m_writer(m_buffer)
{
    m_writer.SetIndent(' ', 2);
    m_writer.SetFormatOptions(rapidjson::kFormatSingleLineArray);
}

void JsonOutput::strings(const std::vector<std::string>& v)
{
    begin_array();
    for (const auto& s : v)
        string(s);
    end_array();
}

void JsonOutput::output(std::string_view kind, const std::filesystem::path& path, std::optional<uint64_t> tensors)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::pair<std::string, uint64_t>> files;
    uint64_t bytes = 0;
    if (fs::is_directory(path, ec)) {
        for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec))
                files.emplace_back(it->path().string(), it->file_size(ec));
        std::sort(files.begin(), files.end());
        for (const auto& f : files)
            bytes += f.second;
    } else {
        bytes = fs::file_size(path, ec);
        if (ec)
            bytes = 0;
    }
    begin_object();
    member("kind", kind);
    member("path", path.string());
    member("bytes", bytes);
    if (tensors)
        member("tensors", *tensors);
    if (!files.empty()) {
        key("files");
        begin_array();
        for (const auto& [name, size] : files) {
            begin_object();
            member("path", name);
            member("bytes", size);
            end_object();
        }
        end_array();
    }
    end_object();
}

std::string JsonOutput::text() const { return std::string(m_buffer.GetString(), m_buffer.GetSize()) + "\n"; }

void JsonOutput::print(std::ostream& out) const { out << text() << std::flush; }

} // namespace ckpt::cli
