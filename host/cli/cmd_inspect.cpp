// SPDX-License-Identifier: Apache-2.0
// `ckptconv inspect PATH`: what a checkpoint holds — tensors, other values, metadata — read
// from headers only (no tensor data is loaded).
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"

#include "core/progress.hpp"
#include "core/text.hpp"
#include "core/tree_paths.hpp"
#include "formats/container.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

namespace ckpt::cli {

namespace {

struct Row {
    std::string name;
    const Node* leaf;
    std::string tied_to;
    std::string shard;
};

} // namespace

int cmd_inspect(const Args& args)
{
    CommonOptions common;
    std::string path;
    bool json = false;
    Parser p("inspect", "ckptconv inspect PATH [--json]",
             "Lists what a checkpoint holds: every tensor with dtype, shape, size (and shard for sharded "
             "checkpoints), every other value, and file metadata. PATH is a safetensors file, a PyTorch "
             ".bin, a Cerebras .mdl, a *.index.json of a sharded checkpoint, or a Hugging Face model folder. No "
             "tensor data is read.");
    p.options().add_options()("path", po::value<std::string>(&path)->required(), "checkpoint file or model folder to inspect")(
        "json", po::bool_switch(&json), "print JSON");
    p.positional("path", "PATH");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    Session s = load_session(common);
    Checkpoint ck = open_checkpoint(path, &s.records);

    std::vector<Row> rows;
    std::map<const TensorData*, std::string> first_name;
    uint64_t tensor_bytes = 0;
    size_t tensor_count = 0;
    for_each_leaf(ck.root, [&](const std::string& name, const Node& leaf) {
        Row r{name, &leaf, {}, {}};
        if (leaf.is_tensor()) {
            const TensorData* t = leaf.as_tensor().get();
            auto [it, fresh] = first_name.emplace(t, name);
            if (!fresh)
                r.tied_to = it->second;
            else
                tensor_bytes += t->info().nbytes();
            ++tensor_count;
            if (auto sh = ck.shard_of.find(name); sh != ck.shard_of.end())
                r.shard = sh->second;
        }
        rows.push_back(std::move(r));
    });

    if (json) {
        JsonOutput out;
        out.begin_object();
        out.member("path", path);
        out.member("format", ck.format);
        std::vector<std::string> files;
        for (const auto& f : ck.files)
            files.push_back(f.string());
        out.member("files", files);
        out.key("metadata");
        out.begin_object();
        for (const auto& [k, v] : ck.metadata)
            out.member(k, v);
        out.end_object();
        out.member("tensor_count", uint64_t{tensor_count});
        out.member("tensor_bytes", tensor_bytes);
        out.key("entries");
        out.begin_array();
        for (const Row& r : rows) {
            out.begin_object();
            out.member("name", r.name);
            if (r.leaf->is_tensor()) {
                const TensorInfo& info = r.leaf->as_tensor()->info();
                out.member("kind", "tensor");
                out.member("dtype", dtype_name(info.dtype));
                out.key("shape");
                out.begin_array();
                for (int64_t d : info.shape)
                    out.writer().Int64(d);
                out.end_array();
                out.member("bytes", info.nbytes());
                if (!r.shard.empty())
                    out.member("shard", r.shard);
                if (!r.tied_to.empty())
                    out.member("tied_to", r.tied_to);
            } else {
                out.member("kind", Node::kind_name(r.leaf->kind()));
                out.member("value", render_leaf(*r.leaf));
            }
            out.end_object();
        }
        out.end_array();
        out.member("notes", ck.notes);
        out.end_object();
        out.print(std::cout);
        return 0;
    }

    std::cout << fmt::format("File:    {}\nFormat:  {}\n", escape_control(path), ck.format);
    if (ck.files.size() > 1)
        std::cout << fmt::format("Files:   {} ({} shards)\n", ck.files.size(), ck.files.size() - 1);
    std::cout << fmt::format("Tensors: {} ({}, {} bytes)\n", tensor_count, human_bytes(tensor_bytes), tensor_bytes);
    if (!ck.metadata.empty()) {
        std::cout << "Metadata:\n";
        for (const auto& [k, v] : ck.metadata)
            std::cout << fmt::format("  {}: {}\n", escape_control(k),
                                     escape_control(v.size() > 200 ? v.substr(0, 200) + "..." : v));
    }
    for (const auto& n : ck.notes)
        std::cout << "Note:    " << escape_control(n) << "\n";
    // Names and values come from the file: printed escaped (escape_control), never raw.
    for (auto& r : rows) {
        r.name = escape_control(r.name);
        r.tied_to = escape_control(r.tied_to);
        r.shard = escape_control(r.shard);
    }
    size_t w_name = 4, w_type = 5;
    for (const auto& r : rows) {
        w_name = std::max(w_name, r.name.size());
        w_type = std::max(w_type, r.leaf->is_tensor() ? dtype_name(r.leaf->as_tensor()->info().dtype).size()
                                                      : Node::kind_name(r.leaf->kind()).size());
    }
    std::cout << "\n" << fmt::format("{:<{}}  {:<{}}  {}\n", "name", w_name, "dtype", w_type, "shape / value");
    for (const auto& r : rows) {
        if (r.leaf->is_tensor()) {
            const TensorInfo& info = r.leaf->as_tensor()->info();
            std::string extra = fmt::format("  {} bytes", info.nbytes());
            if (!r.shard.empty())
                extra += "  " + r.shard;
            if (!r.tied_to.empty())
                extra += "  (same storage as " + r.tied_to + ")";
            std::cout << fmt::format("{:<{}}  {:<{}}  [{}]{}\n", r.name, w_name, dtype_name(info.dtype), w_type,
                                     fmt::join(info.shape, ", "), extra);
        } else {
            std::cout << fmt::format("{:<{}}  {:<{}}  {}\n", r.name, w_name, Node::kind_name(r.leaf->kind()), w_type,
                                     escape_control(render_leaf(*r.leaf)));
        }
    }
    return 0;
}

} // namespace ckpt::cli
