// SPDX-License-Identifier: Apache-2.0
// `ckptconv repack IN OUT`: the same tensors in another container (PyTorch .bin <-> safetensors,
// single <-> sharded, .mdl), with no renaming — streaming, bounded memory, atomic output.
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"

#include "convert/dtype_cast.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/tree_paths.hpp"
#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "formats/torch/torch_writer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <map>

namespace ckpt::cli {

namespace fs = std::filesystem;

namespace {

std::string format_from_extension(const fs::path& out)
{
    const std::string ext = out.extension().string();
    if (ext == ".safetensors")
        return "safetensors";
    if (ext == ".bin" || ext == ".pt" || ext == ".pth")
        return "pytorch";
    if (ext == ".mdl" || ext == ".h5")
        return "mdl";
    return "";
}

/// Tensors of any checkpoint as a flat list: a flat state dict as is; a nested checkpoint by
/// dotted path, leaving out (and reporting) values that are not tensors.
std::vector<NamedTensor> tensors_of(const Checkpoint& ck, const std::string& what)
{
    std::vector<NamedTensor> out;
    size_t skipped = 0;
    for_each_leaf(ck.root, [&](const std::string& name, const Node& leaf) {
        if (leaf.is_tensor())
            out.push_back(NamedTensor{name, leaf.as_tensor()});
        else
            ++skipped;
    });
    if (skipped)
        log::warning("{}: {} values that are not tensors are left out (this container holds only tensors)",
                     what, skipped);
    return out;
}

Node tree_of(const std::vector<NamedTensor>& tensors)
{
    Node root = Node::map();
    for (const auto& t : tensors)
        root.append(Node(t.name), Node(t.tensor));
    return root;
}

} // namespace

int cmd_repack(const Args& args)
{
    CommonOptions common;
    std::string in, out, format, shard_size, dtype;
    bool force = false, uncompressed = false, json = false;
    Parser p("repack", "ckptconv repack IN OUT [--format safetensors|pytorch|mdl] [--shard-size SIZE] [--dtype D] [--force]",
             "Writes the tensors of IN into another container without renaming anything: PyTorch .bin, "
             "safetensors, or Cerebras .mdl (HDF5 layout 0.4), chosen by --format or OUT's extension. "
             "With --shard-size, OUT is a directory of Hugging Face shards plus an index. IN may be a Hugging Face "
             "model folder. With --dtype, floating-point tensors are cast (round to nearest even, as torch).");
    p.options().add_options()("in", po::value<std::string>(&in)->required(), "source checkpoint file or model folder")(
        "out", po::value<std::string>(&out)->required(), "output file (or directory with --shard-size)")(
        "format", po::value<std::string>(&format), "safetensors, pytorch or mdl")(
        "shard-size", po::value<std::string>(&shard_size), "write Hugging Face shards of at most SIZE (e.g. 5GB)")(
        "uncompressed", po::bool_switch(&uncompressed), "mdl: do not LZ4-compress datasets")(
        "dtype", po::value<std::string>(&dtype), "write floating-point tensors as float32, bfloat16 or float16")(
        "force", po::bool_switch(&force), "replace OUT if it exists")(
        "json", po::bool_switch(&json), "print the result as one JSON object");
    p.positional("in", "IN");
    p.positional("out", "OUT");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    const std::optional<DType> cast_to = parse_dtype_option(dtype);
    if (format.empty())
        format = format_from_extension(out);
    if (format.empty() && !shard_size.empty())
        format = "pytorch";
    if (format != "safetensors" && format != "pytorch" && format != "mdl")
        throw UsageError(fmt::format("cannot tell the output format from '{}'; pass --format safetensors, pytorch "
                                     "or mdl",
                                     out));
    if (!shard_size.empty() && format == "mdl")
        throw UsageError("--shard-size applies to safetensors and pytorch output only");

    std::error_code ec;
    if (fs::exists(out, ec) && fs::exists(in, ec) && fs::equivalent(in, out, ec))
        throw UsageError(fmt::format("{}: output would replace the input", out));
    Session s = load_session(common);
    const log::WarningCapture warnings(json);
    const auto start = std::chrono::steady_clock::now();
    Checkpoint ck = open_checkpoint(in, &s.records);
    const auto overflows = std::make_shared<convert::CastOverflows>();
    if (cast_to)
        ck.root = convert::cast_floats(ck.root, *cast_to, overflows);
    size_t written = 0;
    auto report = [&]() {
        convert::warn_overflows(*overflows);
        if (!json) {
            std::cout << fmt::format("Checkpoint saved to {}\n", out);
            return 0;
        }
        JsonOutput o;
        o.begin_object();
        o.member("command", "repack");
        o.key("inputs");
        o.begin_object();
        o.member("checkpoint", in);
        std::vector<std::string> files;
        for (const auto& f : ck.files)
            files.push_back(f.string());
        o.member("files", files);
        o.member("format", ck.format);
        o.end_object();
        o.member("format", format);
        o.key("dtype");
        cast_to ? o.string(*convert::torch_dtype_name(*cast_to)) : o.null();
        o.key("outputs");
        o.begin_array();
        o.output("checkpoint", out, written);
        o.end_array();
        o.member("warnings", warnings.warnings());
        o.member("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        o.end_object();
        o.print(std::cout);
        return 0;
    };

    if (!shard_size.empty()) {
        ShardOptions opts;
        opts.max_shard_size = parse_size(shard_size);
        opts.safetensors = format == "safetensors";
        AtomicOutput dir(out, AtomicOutput::Type::directory, force);
        dir.protect(ck.files); // --force into the input's own folder must not replace a shard
        const std::vector<NamedTensor> tensors = tensors_of(ck, in);
        written = tensors.size();
        auto rep = write_hf_sharded(dir.path(), tensors, opts,
                                    [](const fs::path& shard, const std::vector<NamedTensor>& ts) {
                                        write_torch(shard, tree_of(ts));
                                    });
        for (const auto& a : rep.dropped_aliases)
            log::info("{} shares its storage with {} and is not written again (safetensors has no aliases)",
                      a.alias, a.kept);
        written -= rep.dropped_aliases.size();
        dir.commit();
        return report();
    }

    AtomicOutput file(out, AtomicOutput::Type::file, force);
    file.protect(ck.files);
    if (format == "safetensors") {
        // safetensors cannot alias: keep the first name of each storage in source order (the
        // embedding, not the tied head that follows it), then lay out as the reference writer does.
        std::vector<NamedTensor> unique;
        std::map<const TensorData*, std::string> first;
        for (auto& t : tensors_of(ck, in)) {
            auto [it, fresh] = first.emplace(t.tensor.get(), t.name);
            if (fresh)
                unique.push_back(std::move(t));
            else
                log::info("{} shares its storage with {} and is not written again (safetensors has no aliases)",
                          t.name, it->second);
        }
        written = unique.size();
        write_safetensors(file.path(), safetensors_library_order(std::move(unique)), {{"format", "pt"}});
    } else if (format == "pytorch") {
        for_each_leaf(ck.root, [&](const std::string&, const Node& leaf) { written += leaf.is_tensor(); });
        write_torch(file.path(), ck.root);
    } else {
        for_each_leaf(ck.root, [&](const std::string&, const Node& leaf) { written += leaf.is_tensor(); });
        MdlWriteOptions opts;
        opts.compress = !uncompressed;
        write_mdl(file.path(), ck.root, opts);
    }
    file.commit();
    return report();
}

} // namespace ckpt::cli
