// SPDX-License-Identifier: Apache-2.0
// The planning phase of a conversion: calling the plugins' config and plan entry points step by
// step over the lazily opened checkpoint.
#include "convert/conversion_plan.hpp"

#include "config/config_file.hpp"
#include "config/cs_config.hpp"
#include "config/cs_release_config.hpp"
#include "convert/cs_checkpoint_steps.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/executor.hpp"
#include "engine/plan.hpp"
#include "engine/plan_api.hpp"
#include "formats/compound_folder.hpp"
#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"
#include "convert/private_formats.hpp"
#include "lora/peft_adapter.hpp"
#include "plugins/host_services.hpp"
#include "plugins/plugin_call.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

namespace ckpt::convert {

namespace fs = std::filesystem;

namespace {

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

/// The model configs of an HF config: itself, or each part's config.json of a compound one.
std::vector<Node*> hf_model_configs(Node& config)
{
    if (!is_compound_config(config))
        return {&config};
    std::vector<Node*> out;
    for (auto& [k, v] : config.entries())
        if (split_part(Node::key_text(k))->second == "config.json")
            out.push_back(&v);
    return out;
}

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
            if (t != "cbfloat16" && t != "bfloat16" && t != "float16")
                throw ConversionError(fmt::format("Invalid fp16_type value: {}", t.empty() ? "(not a string)" : t));
            // A compound output carries the flag in each part's config.json.
            for (Node* cfg : hf_model_configs(dst))
                cfg->set("use_bfloat16", Node(t != "float16"));
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
    const ckpt_converter* c = s.converter->descriptor;
    try {
        host::call_plugin(s.converter->plugin, fmt::format("converting the config from {} to {}", s.src, s.tgt), [&] {
            return c->convert_config(c->ctx, host::services(), &pr.abi, host::to_abi(&src), host::to_abi(&dst));
        });
    } catch (const host::PluginCallError& e) {
        if (e.status() == CKPT_ERR_CONFIG_CONVERSION)
            throw ConversionError(fmt::format("ConfigConversionError: {}", e.reason()));
        throw;
    }
    generic_hf_cs_config(s, src, dst);
    return dst;
}

/// A checkpoint the plugin found contradicting its config (or lacking what the model needs) while
/// planning: the conversion cannot be made.
class BadCheckpoint : public ConversionError {
public:
    using ConversionError::ConversionError;
};

/// Runs one checkpoint step: the plan over `inputs`, validated unless `validate` is false.
/// `describe` receives the dry-run text when non-null.
std::vector<NamedTensor> plan_step(const Step& s, const std::string& model, const Request& r,
                                   std::vector<NamedTensor> inputs, const Node& cfg_src, const Node& cfg_dst,
                                   std::string* describe, bool validate = true)
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
        const ckpt_converter* c = s.converter->descriptor;
        plan.set_owner(s.converter->plugin);
        try {
            host::call_plugin(s.converter->plugin, fmt::format("planning the checkpoint from {} to {}", s.src, s.tgt),
                              [&] {
                                  return c->plan_checkpoint(c->ctx, host::services(), &pr.abi, host::to_abi(&src_cfg),
                                                            host::to_abi(&dst_cfg), engine::to_abi(&plan));
                              });
        } catch (const host::PluginCallError& e) {
            // BAD_INPUT while planning: the checkpoint contradicts its config (or lacks what the
            // model needs). That conversion cannot be made (exit 1); name the files it is between.
            if (e.status() != CKPT_ERR_BAD_INPUT)
                throw;
            throw BadCheckpoint(fmt::format("{}\n  (checkpoint {}, config {})", e.what(), r.checkpoint.string(),
                                            r.config.string()));
        }
    }
    if (validate)
        engine::validate(plan, r.drop_unmatched_keys);
    if (describe)
        *describe = plan.describe();
    return plan.outputs();
}

/// The configs of step `i` of `chain` in the plugin's side order (side 0, side 1).
std::pair<const Node&, const Node&> step_configs(const ConfigChain& chain, size_t i, const Step& s)
{
    if (s.direction == 0)
        return {chain.inputs[i], chain.sections[i + 1]};
    return {chain.sections[i + 1], chain.inputs[i]};
}

/// CS -> CS steps carry tensors by name and never look at their shapes, while a family's shape
/// table is stated on its Hugging Face side. So before a CS -> CS conversion, the same checkpoint
/// is planned (silently, never written) on to hf, and a checkpoint that plan finds contradicting
/// its config is refused. Whatever else hf cannot express (a config key, a tensor hf drops) is
/// not the CS -> CS conversion's business: those failures are ignored here.
void check_cs_checkpoint_via_hf(const host::Registry& reg, const host::ModelEntry& model,
                                const std::string& model_name, const Request& r, const std::string& src,
                                const std::string& tgt, const Node& config_file, std::vector<NamedTensor> tensors)
{
    const log::ScopedLevel quiet(log::Level::quiet); // the plan is never shown, nor its warnings
    std::vector<Step> path;
    ConfigChain configs;
    try {
        path = find_path(reg, model, src, "hf");
        configs = convert_configs(path, model_name, reg.registry_name(r.model), r, config_file);
    } catch (const std::exception&) {
        return;
    }
    const auto refuse = [&](const std::string& why) {
        throw ConversionError(fmt::format("checking the {} checkpoint against its config (a {} -> {} step does not "
                                          "look at shapes, so it was planned on to hf): {}",
                                          src, src, tgt, why));
    };
    for (size_t i = 0; i < path.size(); ++i) {
        const auto [a, b] = step_configs(configs, i, path[i]);
        try {
            tensors = plan_step(path[i], model_name, r, std::move(tensors), a, b, nullptr, false);
        } catch (const BadCheckpoint& e) {
            refuse(e.what());
        } catch (const host::PluginCallError& e) {
            // A tensor the plan's own operations cannot take (a concatenation of weights of
            // different dtypes, say) is the same kind of contradiction, found a step earlier.
            if (e.status() != CKPT_ERR_INVALID_ARGUMENT)
                return;
            refuse(fmt::format("{}\n  (checkpoint {}, config {})", e.what(), r.checkpoint.string(), r.config.string()));
        } catch (const std::exception&) {
            return;
        }
    }
}

/// The model state dict of a checkpoint as a flat tensor list.
std::vector<NamedTensor> model_tensors(const Checkpoint& ck, const std::string& fmt, const std::string& file)
{
    std::vector<NamedTensor> tensors;
    if (is_flat(fmt)) {
        tensors = flat_tensors(ck.root, file);
    } else {
        const Node* model = ck.root.find("model");
        if (!model)
            throw_input("{}: a Cerebras checkpoint needs a 'model' entry; this one has none (is it a Hugging Face "
                        "checkpoint? then use --src-fmt hf)",
                        file);
        tensors = flat_tensors(*model, file + " ['model']");
    }
    // An empty index or model section would "convert" into an empty model that loads nowhere.
    if (tensors.empty())
        throw ConversionError(fmt::format("{}: the checkpoint has no tensors; there is nothing to convert", file));
    return tensors;
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

/// The source format: `--src-fmt`, or for cs-auto the release the checkpoint's metadata names.
std::string source_format(const Request& r, const Checkpoint& ck)
{
    if (r.src_fmt != "cs-auto")
        return r.src_fmt;
    std::string note;
    auto detected = detect_cs_release(ck, &note);
    if (!detected)
        throw ConversionError(kCsAutoNoMetadataMessage);
    if (!note.empty())
        log::warning("{}", note);
    log::info("Detected source format {}", *detected);
    return *detected;
}

/// Says which path was taken when it is not the one direct model converter, and, in the Model
/// Zoo's words, one warning per run of generic steps.
void announce_path(const std::vector<Step>& path)
{
    if (path.size() > 1 || path.front().converter->fallback())
        log::info("Conversion path: {}", describe_path(path));
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
}

} // namespace

const host::ModelEntry& find_model(const host::Registry& reg, const std::string& model)
{
    const host::ModelEntry* m = reg.find(model);
    if (!m) {
        missing_plugin_check(model);
        std::string names = fmt::format("{}", fmt::join(reg.names(), ", "));
        throw ConversionError(fmt::format("The model {} is not supported. Supported models: {}", model,
                                          names.empty() ? "(none: no model plugin was found; see `ckptconv plugins`)"
                                                        : names));
    }
    return *m;
}

std::string resolve_tgt(const std::string& tgt)
{
    if (tgt == "cs-current")
        return host::known_cs_releases().back().name();
    return tgt;
}

void check_format(const host::Registry& reg, const std::string& fmt, const char* flag)
{
    if (!is_hf(fmt) && !is_cs(fmt) && !reg.private_format(fmt))
        throw UsageError(fmt::format("{} {}: expected hf or cs-X.Y{}{}", flag, fmt,
                                     std::string(flag) == "--src-fmt" ? " (or cs-auto)" : " (or cs-current)",
                                     private_format_names(reg)));
}

ConfigChain convert_configs(const std::vector<Step>& path, const std::string& model, const std::string& registry,
                            const Request& r, const Node& source_file)
{
    const std::string file = r.config.string();
    ConfigChain c;
    c.files.push_back(source_file);
    c.sections.push_back(is_flat(path.front().src) ? source_file : *cs_model_section(source_file, file));
    for (const auto& s : path) {
        Node in_file = c.files.back();
        Node in_section = c.sections.back();
        if (is_cs(s.src) && is_cs(s.tgt) && upgrade_cs22_mup_config(in_file, in_section, s.src, s.tgt, file))
            log::info("Upgraded the cs-2.2 muP model config to the cs-2.3 muP keys");
        // The muP width multiplier lives outside the model section; converters to HF see it in it.
        if (is_cs(s.src) && is_flat(s.tgt) && !in_section.find(kCsDecoderKernelKey))
            if (const Node* kernel = cs_decoder_kernel(in_file))
                in_section.set(kCsDecoderKernelKey, *kernel);
        Node out_section = config_step(s, model, r, in_section);
        Node out_file;
        if (is_flat(s.tgt)) {
            out_file = out_section;
        } else if (is_flat(s.src)) {
            out_file = make_cs_model_config(out_section);
            lift_cs_decoder_kernel(out_file, out_section);
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

Node read_config_input(const fs::path& path)
{
    if (const auto parts = compound_parts(path); !parts.empty())
        return read_compound_config(path, parts);
    return read_config(path);
}

ConversionPlan plan_conversion(const host::Registry& reg, const std::vector<host::PluginRecord>& plugins,
                               const Request& r)
{
    const host::ModelEntry& model = find_model(reg, r.model);
    const std::string model_name = reg.spelling(r.model);
    ConversionPlan p;
    p.tgt = resolve_tgt(r.tgt_fmt);
    check_format(reg, p.tgt, "--tgt-fmt");
    if (r.src_fmt != "cs-auto")
        check_format(reg, r.src_fmt, "--src-fmt");
    if (const host::FormatEntry* f = reg.private_format(p.tgt))
        p.tgt_container = f->container;

    log::info("Loading config & checkpoint...");
    p.checkpoint = open_checkpoint(r.checkpoint, &plugins);
    p.src = source_format(r, p.checkpoint);
    check_source_container(reg, p.checkpoint, p.src, r.checkpoint);
    p.path = find_path(reg, model, p.src, p.tgt);
    announce_path(p.path);

    p.configs = convert_configs(p.path, model_name, reg.registry_name(r.model), r, read_config_input(r.config));
    const Checkpoint& ck = p.checkpoint;
    if (is_hf(p.src) && ck.format.rfind("safetensors", 0) == 0 && ck.format.find("sharded") == std::string::npos)
        log::debug("{}: single safetensors file accepted (the Model Zoo requires the sharded form)",
                   r.checkpoint.string());

    // Plans, step by step: each step's outputs are the next step's inputs (still lazy).
    std::vector<NamedTensor> tensors = model_tensors(ck, p.src, r.checkpoint.string());
    std::string merged_text; // the adapters' plan, shown before the first step's
    if (!r.lora_adapters.empty()) {
        if (!is_hf(p.src))
            throw UsageError("--lora-adapter merges PEFT adapters into a Hugging Face checkpoint (--src-fmt hf); a "
                             "Cerebras checkpoint's LoRA factors are folded by `ckptconv fold-lora`");
        tensors = lora::merge_peft_adapters(std::move(tensors), r.lora_adapters, p.configs.files.front(), &plugins,
                                            r.dry_run ? &merged_text : nullptr);
        if (r.dry_run)
            merged_text = "LoRA adapters merged first:\n" + merged_text + "Then:\n";
    }
    if (is_cs(p.src) && is_cs(p.tgt))
        check_cs_checkpoint_via_hf(reg, model, model_name, r, p.src, p.tgt, p.configs.files.front(), tensors);
    for (size_t i = 0; i < p.path.size(); ++i) {
        const Step& s = p.path[i];
        const auto [a, b] = step_configs(p.configs, i, s);
        std::string text = i == 0 ? merged_text : "";
        tensors = plan_step(s, model_name, r, std::move(tensors), a, b, r.dry_run ? &text : nullptr);
        if (is_cs(s.src) && is_flat(s.tgt) && has_sideband_sparsity(p.configs.files[i])) {
            log::info("Finalizing sparsity. The output checkpoint will be dense.");
            tensors = with_nans_zeroed(tensors);
            text += "(sideband sparsity: NaN weights are written as 0)\n";
        }
        p.step_descriptions.push_back(std::move(text));
    }
    if (r.dtype) // --dtype: floats cast as they stream
        tensors = cast_floats(tensors, *r.dtype, p.overflows);

    // CS -> CS: every other section travels, with the Model Zoo's per-step fixes.
    if (is_cs(p.src) && is_cs(p.tgt)) {
        p.cs_root = ck.root;
        const bool crosses_cs16 = std::any_of(p.path.begin(), p.path.end(), [](const Step& s) {
            return s.src == "cs-1.6" || s.tgt == "cs-1.6";
        });
        inject_r19_dataloader_state(p.cs_root, p.configs.files.front(), r.config.string());
        finish_cs_checkpoint(p.cs_root, tensors, crosses_cs16, r.checkpoint.string());
    }
    p.tensors = std::move(tensors);

    p.out_config = p.configs.files.back();
    if (is_hf(p.tgt) && !is_compound_config(p.out_config)) {
        if (auto dt = r.dtype ? torch_dtype_name(*r.dtype) : torch_dtype_of(p.tensors)) // what is written (design.md §5)
            p.out_config.set("torch_dtype", Node(*dt));
    } else if (is_hf(p.tgt)) {
        // A compound output: each part's config.json gets the dtype of that part's tensors.
        for (auto& [k, cfg] : p.out_config.entries()) {
            const auto part = split_part(Node::key_text(k));
            if (part->second != "config.json")
                continue;
            std::vector<NamedTensor> own;
            for (const auto& t : p.tensors)
                if (t.name.rfind(part->first + "/", 0) == 0)
                    own.push_back(t);
            if (auto dt = r.dtype ? torch_dtype_name(*r.dtype) : torch_dtype_of(own))
                cfg.set("torch_dtype", Node(*dt));
        }
    }
    return p;
}

} // namespace ckpt::convert
