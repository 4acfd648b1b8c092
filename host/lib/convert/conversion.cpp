// SPDX-License-Identifier: Apache-2.0
// One conversion as the user asks for it: path, configs, plans, validation, streamed output.
#include "convert/conversion.hpp"

#include "config/config_file.hpp"
#include "config/cs_config.hpp"
#include "config/cs_release_config.hpp"
#include "convert/cs_checkpoint_steps.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "engine/executor.hpp"
#include "engine/plan.hpp"
#include "engine/plan_api.hpp"
#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/torch/torch_writer.hpp"
#include "plugins/host_services.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <map>
#include <regex>
#include <set>

namespace ckpt::convert {

namespace fs = std::filesystem;

namespace {

bool is_hf(const std::string& fmt) { return fmt == "hf"; }
bool is_cs(const std::string& fmt) { return host::parse_cs_version(fmt).has_value(); }

/// "Cannot convert ..." with the rows `list` would print for the model.
[[noreturn]] void cannot_convert(const host::Registry& reg, const host::ModelEntry& model, const std::string& name,
                                 const std::string& src, const std::string& tgt)
{
    std::string msg = fmt::format("Cannot convert {} from {} to {}. Conversions {} supports (both directions, "
                                  "chained as needed):",
                                  name, src, tgt, name);
    for (const auto& row : reg.list_rows(model))
        msg += fmt::format("\n  {} <-> {}{}", fmt::join(row.side[0], ", "), fmt::join(row.side[1], ", "),
                           row.fallback() ? "  (generic release step)" : "");
    throw ConversionError(msg);
}

} // namespace

std::vector<Step> find_path(const host::Registry& reg, const host::ModelEntry& model, const std::string& src,
                            const std::string& tgt)
{
    if (src == tgt)
        throw ConversionError(fmt::format("--src-fmt and --tgt-fmt are both {}: nothing to convert", src));
    // Every edge, model converters first so that among equally short paths they win.
    std::vector<const host::ConverterEntry*> edges;
    for (const auto& c : model.converters)
        edges.push_back(&c);
    for (const auto& g : model.generic)
        edges.push_back(&g);

    std::map<std::string, Step> came_from; // format -> the step that reached it
    std::deque<std::string> queue{src};
    std::map<std::string, bool> seen{{src, true}};
    while (!queue.empty()) {
        std::string at = queue.front();
        queue.pop_front();
        if (at == tgt)
            break;
        for (const host::ConverterEntry* e : edges) {
            for (int dir = 0; dir < 2; ++dir) {
                const auto& from = e->side[dir];
                if (std::find(from.begin(), from.end(), at) == from.end())
                    continue;
                for (const auto& next : e->side[1 - dir]) {
                    // Never pass through hf on the way between two CS releases: CS-only config keys
                    // and checkpoint sections would be lost.
                    if (seen[next] || (is_hf(next) && next != tgt))
                        continue;
                    seen[next] = true;
                    came_from[next] = Step{nullptr, at, next, dir};
                    came_from[next].converter = e;
                    queue.push_back(next);
                }
            }
        }
    }
    if (!came_from.count(tgt))
        cannot_convert(reg, model, model.name, src, tgt);
    std::vector<Step> path;
    for (std::string at = tgt; at != src; at = came_from[at].src)
        path.insert(path.begin(), came_from[at]);
    return path;
}

std::string describe_path(const std::vector<Step>& path)
{
    std::vector<std::string> parts;
    for (const auto& s : path)
        parts.push_back(fmt::format("{} -> {} ({})", s.src, s.tgt,
                                    s.converter->fallback() ? "generic release step" : "model converter"));
    return fmt::format("{}", fmt::join(parts, ", "));
}

std::string remove_file_extension(const std::string& filename)
{
    static const std::regex suffix(R"(\.[A-Za-z]+$)");
    std::string out = filename;
    while (true) {
        std::string next = std::regex_replace(out, suffix, "");
        if (next == out || next.empty())
            break;
        out = next;
    }
    return out;
}

namespace {

// ---- calling plugins -----------------------------------------------------------------------

struct PluginRequest {
    ckpt_convert_request abi{};
    std::string model, src, tgt;
    PluginRequest(const Step& s, const std::string& model_name, const Request& r)
        : model(model_name), src(s.src), tgt(s.tgt)
    {
        abi.struct_size = sizeof abi;
        abi.direction = s.direction;
        abi.model = ckpt_str{model.data(), model.size()};
        abi.src_fmt = ckpt_str{src.data(), src.size()};
        abi.tgt_fmt = ckpt_str{tgt.data(), tgt.size()};
        abi.flags = (r.debug ? CKPT_REQUEST_DEBUG : 0u) | (r.drop_unmatched_keys ? CKPT_REQUEST_DROP_UNMATCHED_KEYS : 0u);
    }
};

/// The Model Zoo's generic HF <-> CS config post-processing (BaseConfigConverter_HF_CS).
void generic_hf_cs_config(const Step& s, const Node& src, Node& dst)
{
    if (is_hf(s.src) && is_cs(s.tgt)) {
        auto v = *host::parse_cs_version(s.tgt);
        const Node* bf16 = src.find("use_bfloat16");
        if (bf16 && host::CsVersion{2, 1} <= v && v <= host::CsVersion{2, 3} && !dst.find("fp16_type"))
            dst.set("fp16_type", Node(bf16->kind() == Node::Kind::boolean && bf16->as_bool() ? "bfloat16" : "float16"));
        // Model Zoo 2.1-2.3 add this post-default to every HF -> CS model config; later releases do not.
        if (v <= host::CsVersion{2, 3} && !dst.find("mixed_precision"))
            dst.set("mixed_precision", Node(true));
    } else if (is_cs(s.src) && is_hf(s.tgt)) {
        if (const Node* fp = src.find("fp16_type")) {
            const std::string t = fp->kind() == Node::Kind::string ? fp->as_string() : "";
            if (t == "cbfloat16" || t == "bfloat16")
                dst.set("use_bfloat16", Node(true));
            else if (t == "float16")
                dst.set("use_bfloat16", Node(false));
            else
                throw ConversionError(fmt::format("Invalid fp16_type value: {}", t.empty() ? "(not a string)" : t));
        }
    }
}

/// Runs one config step on a model section.
Node config_step(const Step& s, const std::string& model, const Request& r, const Node& src)
{
    if (s.converter->fallback())
        return src;
    PluginRequest pr(s, model, r);
    Node dst = Node::map();
    host::take_plugin_error();
    const ckpt_converter* c = s.converter->descriptor;
    ckpt_status st = c->convert_config(c->ctx, host::services(), &pr.abi, host::to_abi(&src), host::to_abi(&dst));
    if (st != CKPT_OK) {
        std::string why = host::take_plugin_error();
        if (st == CKPT_ERR_CONFIG_CONVERSION)
            throw ConversionError(fmt::format("ConfigConversionError: {}", why));
        throw ConversionError(fmt::format("converting the config from {} to {} failed: {}", s.src, s.tgt,
                                          why.empty() ? "the plugin gave no reason" : why));
    }
    generic_hf_cs_config(s, src, dst);
    return dst;
}

/// Runs one checkpoint step: the plan over `inputs`, validated. `describe` receives the dry-run
/// text when non-null.
std::vector<NamedTensor> plan_step(const Step& s, const std::string& model, const Request& r,
                                   std::vector<NamedTensor> inputs, const Node& cfg_src, const Node& cfg_dst,
                                   std::string* describe)
{
    engine::Plan plan(std::move(inputs));
    if (s.converter->fallback()) {
        for (size_t i = 0; i < plan.input_count(); ++i) {
            const std::string name = plan.input_at(i).name;
            engine::OpRequest op;
            op.kind = engine::OpKind::copy;
            op.output = name;
            op.inputs = {plan.input(name)};
            plan.add(std::move(op));
        }
    } else {
        PluginRequest pr(s, model, r);
        // The plugin sees (side-0 config, side-1 config) in its own order, as the Model Zoo passes them.
        const Node& src_cfg = cfg_src;
        const Node& dst_cfg = cfg_dst;
        host::take_plugin_error();
        const ckpt_converter* c = s.converter->descriptor;
        ckpt_status st = c->plan_checkpoint(c->ctx, host::services(), &pr.abi, host::to_abi(&src_cfg),
                                            host::to_abi(&dst_cfg), engine::to_abi(&plan));
        if (st != CKPT_OK) {
            // The plan's own message is the precise one when a plan call was refused.
            std::string why = plan.last_error();
            std::string plugin_why = host::take_plugin_error();
            if (why.empty())
                why = plugin_why;
            throw ConversionError(fmt::format("planning the checkpoint from {} to {} failed: {}", s.src, s.tgt,
                                              why.empty() ? "the plugin gave no reason" : why));
        }
    }
    engine::validate(plan, r.drop_unmatched_keys);
    if (describe)
        *describe = plan.describe();
    return plan.outputs();
}

/// The model state dict of a checkpoint as a flat tensor list.
std::vector<NamedTensor> model_tensors(const Checkpoint& ck, const std::string& fmt, const std::string& file)
{
    if (is_hf(fmt))
        return flat_tensors(ck.root, file);
    const Node* model = ck.root.find("model");
    if (!model)
        throw_input("{}: a Cerebras checkpoint needs a 'model' entry; this one has none (is it a Hugging Face "
                    "checkpoint? then use --src-fmt hf)",
                    file);
    return flat_tensors(*model, file + " ['model']");
}

Node tensors_to_map(const std::vector<NamedTensor>& tensors)
{
    Node m = Node::map();
    for (const auto& t : tensors)
        m.append(Node(t.name), Node(t.tensor));
    return m;
}

std::string release_version(const std::string& fmt)
{
    auto v = host::parse_cs_version(fmt);
    if (!v)
        throw ConversionError(fmt::format("internal error: {} is not a Cerebras release", fmt));
    return fmt::format("{}.{}.0", v->major, v->minor);
}

/// `torch_dtype` for an HF config.json: the floating-point dtype most of the written bytes have.
std::optional<std::string> torch_dtype_of(const std::vector<NamedTensor>& tensors)
{
    std::map<DType, uint64_t> bytes;
    for (const auto& t : tensors)
        bytes[t.tensor->info().dtype] += t.tensor->info().nbytes();
    const std::pair<DType, const char*> names[] = {
        {DType::f32, "float32"}, {DType::bf16, "bfloat16"}, {DType::f16, "float16"}, {DType::f64, "float64"}};
    std::optional<std::string> best;
    uint64_t most = 0;
    for (const auto& [d, name] : names)
        if (bytes[d] > most) {
            most = bytes[d];
            best = name;
        }
    return best;
}

/// The configs along a path. files[0] is the source file and sections[0] its model section;
/// files[i+1] / sections[i+1] are what step i produced (for a CS -> CS step, after the release's
/// whole-file changes); inputs[i] is the model section step i converted and planned from (the
/// source section, or its cs-2.3 muP upgrade).
struct ConfigChain {
    std::vector<Node> files, sections, inputs;
};

ConfigChain convert_configs(const std::vector<Step>& path, const std::string& model, const std::string& registry,
                            const Request& r, const Node& source_file)
{
    const std::string file = r.config.string();
    ConfigChain c;
    c.files.push_back(source_file);
    c.sections.push_back(is_hf(path.front().src) ? source_file : *cs_model_section(source_file, file));
    for (const auto& s : path) {
        Node in_file = c.files.back();
        Node in_section = c.sections.back();
        if (is_cs(s.src) && is_cs(s.tgt) && upgrade_cs22_mup_config(in_file, in_section, s.src, s.tgt, file))
            log::info("Upgraded the cs-2.2 muP model config to the cs-2.3 muP keys");
        Node out_section = config_step(s, model, r, in_section);
        Node out_file;
        if (is_hf(s.tgt)) {
            out_file = out_section;
        } else if (is_hf(s.src)) {
            out_file = make_cs_model_config(out_section);
        } else {
            out_file = std::move(in_file);
            *cs_model_section(out_file, file) = std::move(out_section);
            out_file = finish_cs_release_step(std::move(out_file), s.src, s.tgt, registry, file);
            out_section = *cs_model_section(out_file, file);
        }
        c.inputs.push_back(std::move(in_section));
        c.sections.push_back(std::move(out_section));
        c.files.push_back(std::move(out_file));
    }
    return c;
}

fs::path out_dir_for(const Request& r, const fs::path& input)
{
    if (r.output_dir)
        return *r.output_dir;
    fs::path d = input.parent_path();
    return d.empty() ? fs::path(".") : d;
}

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

std::string resolve_tgt(const std::string& tgt)
{
    if (tgt == "cs-current")
        return host::known_cs_releases().back().name();
    return tgt;
}

void check_format(const std::string& fmt, const char* flag)
{
    if (!is_hf(fmt) && !is_cs(fmt))
        throw UsageError(fmt::format("{} {}: expected hf or cs-X.Y{}", flag, fmt,
                                     std::string(flag) == "--src-fmt" ? " (or cs-auto)" : " (or cs-current)"));
}

const host::ModelEntry& find_model(const host::Registry& reg, const std::string& model)
{
    const host::ModelEntry* m = reg.find(model);
    if (!m) {
        std::string names = fmt::format("{}", fmt::join(reg.names(), ", "));
        throw ConversionError(fmt::format("The model {} is not supported. Supported models: {}", model,
                                          names.empty() ? "(none: no model plugin was found; see `ckptconv plugins`)"
                                                        : names));
    }
    return *m;
}

} // namespace

Result convert_config_file(const host::Registry& reg, const Request& r)
{
    engine::install_plan_api();
    const host::ModelEntry& model = find_model(reg, r.model);
    const std::string model_name = reg.spelling(r.model);
    check_format(r.src_fmt, "--src-fmt");
    const std::string tgt = resolve_tgt(r.tgt_fmt);
    check_format(tgt, "--tgt-fmt");
    auto path = find_path(reg, model, r.src_fmt, tgt);
    log::debug("conversion path: {}", describe_path(path));
    Node source = read_config(r.config);
    const Node out_cfg = convert_configs(path, model_name, reg.registry_name(r.model), r, source).files.back();

    const fs::path dir = out_dir_for(r, r.config);
    const std::string stem = r.config.stem().string();
    fs::path out = dir / (stem + "_to_" + tgt + (is_hf(tgt) ? ".json" : ".yaml"));
    Result res;
    res.config = out;
    if (r.dry_run)
        return res;
    ensure_dir(dir);
    refuse_input_overwrite(out, {r.config});
    AtomicOutput file(out, AtomicOutput::Type::file, r.force);
    write_config(file.path(), out_cfg, !is_hf(tgt));
    file.commit();
    return res;
}

Result convert_checkpoint(const host::Registry& reg, const std::vector<host::PluginRecord>& plugins, const Request& r)
{
    engine::install_plan_api();
    const host::ModelEntry& model = find_model(reg, r.model);
    const std::string model_name = reg.spelling(r.model);
    const std::string tgt = resolve_tgt(r.tgt_fmt);
    check_format(tgt, "--tgt-fmt");
    if (r.src_fmt != "cs-auto")
        check_format(r.src_fmt, "--src-fmt");

    log::info("Loading config & checkpoint...");
    Checkpoint ck = open_checkpoint(r.checkpoint, &plugins);
    std::string src = r.src_fmt;
    if (src == "cs-auto") {
        std::string note;
        auto detected = detect_cs_release(ck, &note);
        if (!detected)
            throw ConversionError(kCsAutoNoMetadataMessage);
        if (!note.empty())
            log::warning("{}", note);
        src = *detected;
        log::info("Detected source format {}", src);
    }
    auto path = find_path(reg, model, src, tgt);
    if (path.size() > 1 || path.front().converter->fallback())
        log::info("Conversion path: {}", describe_path(path));
    // One warning per run of generic steps, in the Model Zoo's words.
    for (size_t i = 0; i < path.size();) {
        size_t j = i;
        while (j < path.size() && path[j].converter->fallback())
            ++j;
        if (j > i)
            log::warning("Checkpoint does not require changes between {} and {}. Only updating checkpoint metadata "
                         "and config.",
                         path[i].src, path[j - 1].tgt);
        i = j == i ? i + 1 : j;
    }

    const ConfigChain configs = convert_configs(path, model_name, reg.registry_name(r.model), r, read_config(r.config));
    if (is_hf(src) && ck.format.rfind("safetensors", 0) == 0 && ck.format.find("sharded") == std::string::npos)
        log::debug("{}: single safetensors file accepted (the Model Zoo requires the sharded form)",
                  r.checkpoint.string());

    // Plans, step by step: each step's outputs are the next step's inputs (still lazy).
    std::vector<NamedTensor> tensors = model_tensors(ck, src, r.checkpoint.string());
    std::vector<std::string> plans;
    for (size_t i = 0; i < path.size(); ++i) {
        const Step& s = path[i];
        // Configs in the plugin's side order: side 0, side 1.
        const Node& a = s.direction == 0 ? configs.inputs[i] : configs.sections[i + 1];
        const Node& b = s.direction == 0 ? configs.sections[i + 1] : configs.inputs[i];
        std::string text;
        tensors = plan_step(s, model_name, r, std::move(tensors), a, b, r.dry_run ? &text : nullptr);
        if (is_cs(s.src) && is_hf(s.tgt) && has_sideband_sparsity(configs.files[i])) {
            log::info("Finalizing sparsity. The output checkpoint will be dense.");
            tensors = with_nans_zeroed(tensors);
            text += "(sideband sparsity: NaN weights are written as 0)\n";
        }
        plans.push_back(std::move(text));
    }

    // CS -> CS: every other section travels, with the Model Zoo's per-step fixes.
    Node cs_root;
    if (is_cs(src) && is_cs(tgt)) {
        cs_root = ck.root;
        const bool crosses_cs16 = std::any_of(path.begin(), path.end(), [](const Step& s) {
            return s.src == "cs-1.6" || s.tgt == "cs-1.6";
        });
        inject_r19_dataloader_state(cs_root, configs.files.front(), r.config.string());
        finish_cs_checkpoint(cs_root, tensors, crosses_cs16, r.checkpoint.string());
    }

    Node out_cfg = configs.files.back();
    if (is_hf(tgt))
        if (auto dt = torch_dtype_of(tensors)) // what is written, whatever the plugin assumed (design.md §5)
            out_cfg.set("torch_dtype", Node(*dt));
    const fs::path ck_dir = out_dir_for(r, r.checkpoint);
    const fs::path cfg_dir = out_dir_for(r, r.config);
    const std::string ck_stem = remove_file_extension(r.checkpoint.filename().string());
    const std::string cfg_stem = remove_file_extension(r.config.filename().string());
    Result res;
    if (is_hf(tgt)) {
        res.checkpoint = ck_dir / (ck_stem + "_to_" + tgt);
        res.config = res.checkpoint / "config.json";
    } else {
        res.checkpoint = ck_dir / (ck_stem + "_to_" + tgt + ".mdl");
        res.config = cfg_dir / (cfg_stem + "_to_" + tgt + ".yaml");
    }

    if (r.dry_run) {
        std::cout << fmt::format("Conversion path: {}\n", describe_path(path));
        for (size_t i = 0; i < path.size(); ++i)
            std::cout << fmt::format("\nStep {}: {} -> {}\n{}", i + 1, path[i].src, path[i].tgt, plans[i]);
        std::cout << fmt::format("\nWould write {} and {}\n", res.checkpoint.string(), res.config.string());
        return res;
    }
    if (r.export_safetensors && !is_hf(tgt))
        log::warning("--export-safetensors applies to Hugging Face output only; ignored");

    ensure_dir(ck_dir);
    refuse_input_overwrite(res.checkpoint, ck.files);
    log::info("Saving...");
    uint64_t total = 0;
    std::set<const TensorData*> counted; // a tied tensor is read once
    for (const auto& t : tensors)
        if (counted.insert(t.tensor.get()).second)
            total += t.tensor->info().nbytes();
    ProgressBar bar("Converting checkpoint", total, r.progress);
    tensors = with_progress(tensors, bar);
    if (is_hf(tgt)) {
        AtomicOutput dir(res.checkpoint, AtomicOutput::Type::directory, r.force);
        ShardOptions opts;
        opts.max_shard_size = r.hf_shard_size;
        opts.safetensors = r.export_safetensors;
        write_hf_sharded(dir.path(), tensors, opts, [](const fs::path& shard, const std::vector<NamedTensor>& ts) {
            // The Model Zoo saves each shard as "…-of-00000" and renames it once the count is
            // known, so that is the archive folder inside its zips; keep it for identical bytes.
            TorchWriteOptions o;
            o.archive_name = std::regex_replace(shard.stem().string(), std::regex("-of-[0-9]+$"), "-of-00000");
            write_torch(shard, tensors_to_map(ts), o);
        });
        write_config(dir.path() / "config.json", out_cfg, false);
        dir.commit();
        return res;
    }

    Node root = Node::map();
    if (is_cs(src)) {
        // Metadata records each release step.
        root = std::move(cs_root);
        root.set("model", tensors_to_map(tensors));
        Node* meta = root.find("__metadata__");
        if (!meta)
            meta = &root.set("__metadata__", Node::list());
        if (!meta->is_sequence())
            throw_input("{}: __metadata__ is a {}, expected a list", r.checkpoint.string(), Node::kind_name(meta->kind()));
        for (size_t i = 0; i < path.size(); ++i) {
            Node entry = Node::map();
            entry.set("version", Node(release_version(path[i].tgt)));
            entry.set("model_name", Node(""));
            entry.set("params", configs.files[i + 1]);
            meta->push_back(std::move(entry));
        }
    } else {
        root.set("model", tensors_to_map(tensors));
    }
    ensure_dir(cfg_dir);
    refuse_input_overwrite(res.config, {r.config});
    AtomicOutput ck_file(res.checkpoint, AtomicOutput::Type::file, r.force);
    AtomicOutput cfg_file(res.config, AtomicOutput::Type::file, r.force);
    MdlWriteOptions opts;
    opts.cstorch_version = release_version(tgt);
    write_mdl(ck_file.path(), root, opts);
    write_config(cfg_file.path(), out_cfg, true);
    ck_file.commit();
    cfg_file.commit();
    return res;
}

} // namespace ckpt::convert
