// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share.
#include "checkpoint_support.hpp"

#include "formats/container.hpp"

#include <sstream>

namespace ckpt::test {

std::map<std::string, TensorPtr> model_tensors(const std::filesystem::path& file)
{
    Checkpoint ck = open_checkpoint(file);
    const Node* model = ck.root.find("model");
    const bool cs = ck.format.rfind("mdl", 0) == 0 && model;
    std::map<std::string, TensorPtr> out;
    for (auto& t : flat_tensors(cs ? *model : ck.root, file.string()))
        out[t.name] = t.tensor;
    return out;
}

std::string compare(const std::map<std::string, TensorPtr>& a, const std::map<std::string, TensorPtr>& b)
{
    std::string diff;
    for (const auto& [name, t] : a) {
        auto it = b.find(name);
        if (it == b.end())
            diff += "only left: " + name + "\n";
        else if (!equal_bytes(*t, *it->second))
            diff += "differs: " + name + "\n";
    }
    for (const auto& [name, t] : b)
        if (!a.count(name))
            diff += "only right: " + name + "\n";
    return diff;
}

std::vector<std::string> matched_lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const size_t at = line.find("Matched ");
        if (at != std::string::npos)
            out.push_back(line.substr(at));
    }
    return out;
}

RunResult run_bundled(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

bool all_zero(const TensorData& t)
{
    std::vector<std::byte> bytes(t.info().nbytes());
    t.read(0, bytes.data(), bytes.size());
    for (std::byte b : bytes)
        if (b != std::byte{0})
            return false;
    return true;
}

} // namespace ckpt::test
