// SPDX-License-Identifier: Apache-2.0
// Opens any supported checkpoint by its content.
#include "formats/container.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mapped_file.hpp"
#include "formats/compound_folder.hpp"
#include "formats/hf_model_folder.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/plugin_container.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "formats/torch/torch_reader.hpp"

#include <cctype>

namespace ckpt {

namespace fs = std::filesystem;

namespace {

constexpr size_t kHeadBytes = 64 * 1024;

std::string printable_prefix(std::string_view head)
{
    std::string out;
    for (size_t i = 0; i < head.size() && i < 16; ++i) {
        unsigned char c = static_cast<unsigned char>(head[i]);
        out += std::isprint(c) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
    }
    return out;
}

/// A shard of a sharded Hugging Face checkpoint: safetensors or PyTorch zip, by content.
Checkpoint open_shard(const fs::path& path)
{
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    const std::string head = read_head(path, kHeadBytes);
    if (is_safetensors(head, ec ? 0 : size))
        return read_safetensors(path);
    if (is_torch_zip(head))
        return read_torch(path);
    if (const std::string why = safetensors_length_problem(head, ec ? 0 : size); !why.empty())
        throw_input("{}: damaged safetensors header: {}", path.string(), why);
    throw_input("{}: shard is neither safetensors nor a PyTorch zip (starts with \"{}\")", path.string(),
                printable_prefix(head));
}

} // namespace

Checkpoint open_checkpoint(const fs::path& path, const std::vector<host::PluginRecord>* plugins)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (const auto parts = compound_parts(path); !parts.empty())
            return open_compound_checkpoint(path, parts, plugins);
        const ModelFolder folder = find_model_folder(path);
        for (const auto& name : folder.ignored)
            log::info("{}: reading {} (as transformers does); {} is ignored", path.string(),
                      folder.checkpoint.filename().string(), name);
        return open_checkpoint(folder.checkpoint, plugins);
    }
    if (!fs::exists(path, ec))
        throw_input("{}: no such file", path.string());
    const uint64_t size = fs::file_size(path, ec);
    const std::string head = read_head(path, kHeadBytes);
    if (head.empty())
        throw_input("{}: the file is empty", path.string());

    if (plugins)
        if (const ckpt_container* c = identify_plugin_container(*plugins, head, path))
            return read_plugin_container(*c, path);
    if (is_hdf5(head))
        return read_mdl(path);
    if (is_torch_zip(head) || is_torch_legacy(head))
        return read_torch(path);
    if (is_safetensors(head, ec ? 0 : size))
        return read_safetensors(path);
    if (is_hf_index(head))
        return read_hf_index(path, open_shard);
    if (const std::string why = safetensors_length_problem(head, ec ? 0 : size); !why.empty())
        throw_input("{}: damaged safetensors header: {}", path.string(), why);
    throw_input("{}: not a checkpoint ckptconv can read (expected safetensors, a PyTorch zip, a Cerebras .mdl "
                "or a Hugging Face *.index.json); it starts with \"{}\"",
                path.string(), printable_prefix(head));
}

std::vector<NamedTensor> flat_tensors(const Node& root, const std::string& what)
{
    if (!root.is_map())
        throw_input("{}: expected a state dict (a map of tensors), found a {}", what, Node::kind_name(root.kind()));
    std::vector<NamedTensor> out;
    out.reserve(root.size());
    for (const auto& [k, v] : root.entries()) {
        if (!v.is_tensor())
            throw_input("{}: entry '{}' is a {}, not a tensor", what, Node::key_text(k), Node::kind_name(v.kind()));
        out.push_back(NamedTensor{Node::key_text(k), v.as_tensor()});
    }
    return out;
}

} // namespace ckpt
