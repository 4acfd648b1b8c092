// SPDX-License-Identifier: Apache-2.0
// A compound Hugging Face checkpoint: named sub-folders read and written as one checkpoint.
#include "formats/compound_folder.hpp"

#include "config/config_file.hpp"
#include "core/error.hpp"
#include "formats/container.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ckpt {

namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

/// The `*config.json` files of a part other than config.json (preprocessor_config.json,
/// generation_config.json, ...), by name.
std::vector<std::string> extra_config_files(const fs::path& part)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(part, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const std::string suffix = "config.json";
        if (name != suffix && name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 && is_file(it->path()))
            names.push_back(name);
    }
    if (ec)
        throw_input("{}: cannot list the folder: {}", part.string(), ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

std::vector<std::string> compound_parts(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec) || is_file(dir / "config.json"))
        return {};
    std::vector<std::string> parts;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && is_file(it->path() / "config.json"))
            parts.push_back(it->path().filename().string());
    if (parts.size() < 2)
        return {};
    std::sort(parts.begin(), parts.end());
    return parts;
}

Checkpoint open_compound_checkpoint(const fs::path& dir, const std::vector<std::string>& parts,
                                    const std::vector<host::PluginRecord>* plugins)
{
    Checkpoint out;
    std::vector<std::string> formats;
    for (const auto& part : parts) {
        Checkpoint ck = open_checkpoint(dir / part, plugins);
        for (auto& t : flat_tensors(ck.root, (dir / part).string()))
            out.root.append(Node(part + "/" + t.name), Node(t.tensor));
        out.files.insert(out.files.end(), ck.files.begin(), ck.files.end());
        for (const auto& [name, shard] : ck.shard_of)
            out.shard_of[part + "/" + name] = part + "/" + shard;
        out.notes.insert(out.notes.end(), ck.notes.begin(), ck.notes.end());
        formats.push_back(ck.format);
    }
    out.format = fmt::format("compound({})", fmt::join(formats, ","));
    return out;
}

Node read_compound_config(const fs::path& dir, const std::vector<std::string>& parts)
{
    Node out = Node::map();
    for (const auto& part : parts) {
        out.set(part + "/config.json", read_config(dir / part / "config.json"));
        for (const auto& name : extra_config_files(dir / part))
            out.set(part + "/" + name, read_config(dir / part / name));
    }
    return out;
}

std::optional<std::pair<std::string, std::string>> split_part(const std::string& name)
{
    const size_t slash = name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == name.size())
        return std::nullopt;
    return std::make_pair(name.substr(0, slash), name.substr(slash + 1));
}

bool is_compound_config(const Node& config)
{
    if (!config.is_map() || config.size() == 0)
        return false;
    for (const auto& [k, v] : config.entries()) {
        const std::string key = Node::key_text(k);
        const auto split = split_part(key);
        if (!split || split->second.find('/') != std::string::npos || split->second.size() < 6 ||
            split->second.compare(split->second.size() - 5, 5, ".json") != 0 || !v.is_map())
            return false;
    }
    return true;
}

} // namespace ckpt
