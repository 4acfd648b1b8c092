// SPDX-License-Identifier: Apache-2.0
// The validate, write and commit phases of a conversion: one writer per target kind.
#include "convert/output_writer.hpp"

#include "config/config_file.hpp"
#include "convert/private_formats.hpp"
#include "core/error.hpp"
#include "formats/compound_folder.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/torch/torch_writer.hpp"

#include <fmt/format.h>

#include <regex>

namespace ckpt::convert {

namespace fs = std::filesystem;

void ensure_dir(const fs::path& d)
{
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec)
        throw_input("{}: cannot create the output directory: {}", d.string(), ec.message());
}

void refuse_input_overwrite(const fs::path& out, const std::vector<fs::path>& inputs)
{
    std::error_code ec;
    for (const auto& in : inputs)
        if (fs::exists(out, ec) && fs::equivalent(out, in, ec))
            throw InputError(fmt::format("{}: the output would replace an input file; choose another --output-dir",
                                         out.string()));
}

/// Every file the conversion reads, which no output may replace.
std::vector<fs::path> inputs_of(const ConversionPlan& plan, const Request& r)
{
    std::vector<fs::path> in = plan.checkpoint.files;
    in.push_back(r.config);
    return in;
}

Node tensors_to_map(const std::vector<NamedTensor>& tensors)
{
    Node m = Node::map();
    for (const auto& t : tensors)
        m.append(Node(t.name), Node(t.tensor));
    return m;
}

namespace {

std::string release_version(const std::string& fmt)
{
    auto v = host::parse_cs_version(fmt);
    if (!v)
        throw ConversionError(fmt::format("internal error: {} is not a Cerebras release", fmt));
    return fmt::format("{}.{}.0", v->major, v->minor);
}

/// The whole `.mdl` tree: the model, and for a CS source every other section with a metadata
/// entry recording each release step.
Node cs_output_root(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors, const Request& r)
{
    Node root = Node::map();
    if (!is_cs(plan.src)) {
        root.set("model", tensors_to_map(tensors));
        return root;
    }
    root = plan.cs_root;
    root.set("model", tensors_to_map(tensors));
    Node* meta = root.find("__metadata__");
    if (!meta)
        meta = &root.set("__metadata__", Node::list());
    if (!meta->is_sequence())
        throw_input("{}: __metadata__ is a {}, expected a list", r.checkpoint.string(), Node::kind_name(meta->kind()));
    for (size_t i = 0; i < plan.path.size(); ++i) {
        Node entry = Node::map();
        entry.set("version", Node(release_version(plan.path[i].tgt)));
        entry.set("model_name", Node(""));
        entry.set("params", plan.configs.files[i + 1]);
        meta->push_back(std::move(entry));
    }
    return root;
}

/// The shards (and index) of one Hugging Face model folder.
void write_hf_shards(const fs::path& dir, const std::vector<NamedTensor>& tensors, const Request& r)
{
    ShardOptions opts;
    opts.max_shard_size = r.hf_shard_size;
    opts.safetensors = r.export_safetensors;
    write_hf_sharded(dir, tensors, opts, [](const fs::path& shard, const std::vector<NamedTensor>& ts) {
        // The Model Zoo saves each shard as "…-of-00000" and renames it once the count is
        // known, so that is the archive folder inside its zips; keep it for identical bytes.
        TorchWriteOptions o;
        o.archive_name = std::regex_replace(shard.stem().string(), std::regex("-of-[0-9]+$"), "-of-00000");
        write_torch(shard, tensors_to_map(ts), o);
    });
}

StagedOutputs write_hf_output(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors,
                              const OutputNames& names, const Request& r)
{
    StagedOutputs out(inputs_of(plan, r));
    AtomicOutput& dir = out.add(names.checkpoint, AtomicOutput::Type::directory, r.force);
    write_hf_shards(dir.path(), tensors, r);
    write_config(dir.path() / "config.json", plan.out_config, false);
    return out;
}

/// A compound output: one model folder per part, each with its tensors (`<part>/` removed from
/// their names) and its config files.
StagedOutputs write_compound_hf_output(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors,
                                       const OutputNames& names, const Request& r)
{
    StagedOutputs out(inputs_of(plan, r));
    for (const auto& part : names.parts) {
        AtomicOutput& dir = out.add(names.checkpoint_dir / part, AtomicOutput::Type::directory, r.force);
        std::vector<NamedTensor> own;
        for (const auto& t : tensors)
            if (auto split = split_part(t.name); split && split->first == part)
                own.push_back(NamedTensor{split->second, t.tensor});
        write_hf_shards(dir.path(), own, r);
        for (const auto& [k, cfg] : plan.out_config.entries())
            if (auto split = split_part(Node::key_text(k)); split->first == part)
                write_config(dir.path() / split->second, cfg, false);
    }
    return out;
}

StagedOutputs write_cs_output(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors,
                              const OutputNames& names, const Request& r)
{
    const Node root = cs_output_root(plan, tensors, r);
    StagedOutputs out(inputs_of(plan, r));
    AtomicOutput& ck_file = out.add(names.checkpoint, AtomicOutput::Type::file, r.force);
    AtomicOutput& cfg_file = out.add(names.config, AtomicOutput::Type::file, r.force);
    MdlWriteOptions opts;
    opts.cstorch_version = release_version(plan.tgt);
    write_mdl(ck_file.path(), root, opts);
    write_config(cfg_file.path(), plan.out_config, true);
    return out;
}

} // namespace

AtomicOutput& StagedOutputs::add(const fs::path& target, AtomicOutput::Type type, bool overwrite)
{
    m_outputs.push_back(std::make_unique<AtomicOutput>(target, type, overwrite));
    m_outputs.back()->protect(m_inputs);
    return *m_outputs.back();
}

void StagedOutputs::commit()
{
    for (auto& o : m_outputs)
        o->commit();
}

void prepare_outputs(const ConversionPlan& plan, const OutputNames& names, const Request& r)
{
    // Checked again per file at commit; here so that a doomed conversion fails before working.
    const std::vector<fs::path> inputs = inputs_of(plan, r);
    ensure_dir(names.checkpoint_dir);
    refuse_input_overwrite(names.checkpoint, inputs);
    refuse_input_overwrite(names.config, inputs);
    if (!is_hf(plan.tgt))
        ensure_dir(names.config_dir);
}

StagedOutputs write_outputs(const ConversionPlan& plan, const std::vector<NamedTensor>& tensors,
                            const OutputNames& names, const Request& r)
{
    if (plan.tgt_container)
        return write_private_output(inputs_of(plan, r), *plan.tgt_container, tensors, plan.out_config, names, r);
    if (!names.parts.empty())
        return write_compound_hf_output(plan, tensors, names, r);
    return is_hf(plan.tgt) ? write_hf_output(plan, tensors, names, r) : write_cs_output(plan, tensors, names, r);
}

void write_config_output(const Node& config, const fs::path& out, const std::string& tgt, const Request& r)
{
    if (is_hf(tgt) && is_compound_config(config)) {
        // Each part's config files in a folder of the part's name (`out` is their directory).
        StagedOutputs staged({r.config});
        for (const auto& [k, cfg] : config.entries()) {
            const auto split = split_part(Node::key_text(k));
            ensure_dir(out / split->first);
            refuse_input_overwrite(out / split->first / split->second, {r.config});
            AtomicOutput& file = staged.add(out / split->first / split->second, AtomicOutput::Type::file, r.force);
            write_config(file.path(), cfg, false);
        }
        staged.commit();
        return;
    }
    ensure_dir(out.parent_path());
    refuse_input_overwrite(out, {r.config});
    StagedOutputs staged({r.config});
    AtomicOutput& file = staged.add(out, AtomicOutput::Type::file, r.force);
    write_config(file.path(), config, is_cs(tgt));
    staged.commit();
}

} // namespace ckpt::convert
