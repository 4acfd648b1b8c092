// SPDX-License-Identifier: Apache-2.0
// `fold-lora`: a Cerebras checkpoint's LoRA factors, or PEFT adapters over a Hugging Face
// checkpoint, folded into the base weights through the plan engine and written atomically.
#include "lora/fold_lora.hpp"

#include "config/config_file.hpp"
#include "config/cs_config.hpp"
#include "config/yaml_config.hpp"
#include "convert/output_writer.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "engine/executor.hpp"
#include "engine/plan.hpp"
#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "formats/torch/torch_writer.hpp"
#include "lora/cs_lora_params.hpp"
#include "lora/cs_module_classes.hpp"
#include "lora/lora_merge.hpp"
#include "lora/peft_adapter.hpp"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <set>

namespace ckpt::lora {

namespace fs = std::filesystem;
using convert::ensure_dir;
using convert::refuse_input_overwrite;
using convert::tensors_to_map;

namespace {

bool ends_with(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string without_model_prefix(const std::string& name) { return name.rfind("model.", 0) == 0 ? name.substr(6) : name; }

/// The factors of one adapted module of a Cerebras checkpoint.
struct CsLoraModule {
    std::string a, b, weight;
};

/// Every `<m>.lora_A` / `<m>.lora_B` pair, by module, each with its `<m>.weight`.
std::map<std::string, CsLoraModule> find_cs_lora_modules(const std::vector<NamedTensor>& tensors,
                                                         const std::string& file)
{
    std::set<std::string> names;
    for (const auto& t : tensors)
        names.insert(t.name);
    std::map<std::string, CsLoraModule> modules;
    for (const auto& t : tensors) {
        for (const char* suffix : {".lora_A", ".lora_B"}) {
            if (!ends_with(t.name, suffix))
                continue;
            const std::string module = t.name.substr(0, t.name.size() - 7);
            CsLoraModule& m = modules[module];
            m.a = module + ".lora_A";
            m.b = module + ".lora_B";
            m.weight = module + ".weight";
            for (const std::string& need : {m.a, m.b, m.weight})
                if (!names.count(need))
                    throw_input("{}: the checkpoint has {} but no {}", file, t.name, need);
        }
    }
    return modules;
}

/// The config's model section, with lora_params removed and returned.
Node pop_lora_params(Node& config, const std::string& file)
{
    Node* section = cs_model_section(config, file);
    const Node* found = section->find("lora_params");
    if (!found)
        throw_input("{}: the model section has no lora_params; this is not a LoRA config (lora_params must be "
                    "included in model config)",
                    file);
    Node params = *found;
    section->erase("lora_params");
    return params;
}

fs::path out_dir_for(const FoldRequest& r, const fs::path& input)
{
    if (r.output_dir)
        return *r.output_dir;
    fs::path d = input.parent_path();
    return d.empty() ? fs::path(".") : d;
}

uint64_t unique_bytes(const std::vector<NamedTensor>& tensors)
{
    uint64_t total = 0;
    std::set<const TensorData*> seen;
    for (const auto& t : tensors)
        if (seen.insert(t.tensor.get()).second)
            total += t.tensor->info().nbytes();
    return total;
}

/// Whether the config ties what `key` names: the Model Zoo's default (true for every model with a
/// tied pair) when the key is absent, which its fold tool reads as false (docs/decisions.md, D24).
bool tie_on(const Node& section, const std::string& key)
{
    const Node* n = section.find(key);
    return !n || (n->kind() == Node::Kind::boolean && n->as_bool());
}

/// Folding an embedding the Model Zoo ties to another weight breaks the tie, as the fold tool does
/// for share_embedding_weights (and ckptconv also for t5's share_encoder_decoder_embedding): the
/// flag is turned off in `section`, with a warning. Returns (partner weight, source weight) for each
/// partner that now needs its own values: the source as it was before the fold.
std::vector<std::pair<std::string, std::string>> break_embedding_ties(const std::string& model,
                                                                      const std::map<std::string, CsLoraModule>& modules,
                                                                      Node& section)
{
    const TiedEmbedding tied = cs_tied_embedding(model);
    std::string prefix;
    const auto adapted = [&](const std::string& name) -> std::string {
        for (const auto& [module, m] : modules)
            if (!name.empty() && without_model_prefix(module) == name) {
                prefix = module.substr(0, module.size() - name.size());
                return m.weight;
            }
        return "";
    };
    std::vector<std::pair<std::string, std::string>> partners;
    const std::string input = adapted(tied.input);
    if (!input.empty() && tie_on(section, "share_embedding_weights")) {
        log::warning("Your model enables weight tying between the embedding & language model head, while "
                     "simultaneously updating the embeddings via LoRA. In order to maintain the intended behavior, "
                     "the folded checkpoint disables weight tying (i.e. share_embedding_weights=False)");
        section.set("share_embedding_weights", Node(false));
        partners.emplace_back(prefix + tied.output + ".weight", input);
    }
    const std::string encoder = adapted(tied.encoder_input);
    if ((!input.empty() || !encoder.empty()) && !tied.encoder_input.empty() &&
        tie_on(section, "share_encoder_decoder_embedding")) {
        log::warning("Your model shares one word embedding between encoder and decoder, and LoRA adapted them "
                     "separately; the folded checkpoint keeps both (i.e. share_encoder_decoder_embedding=False)");
        section.set("share_encoder_decoder_embedding", Node(false));
        if (encoder.empty())
            partners.emplace_back(prefix + tied.encoder_input + ".weight", input);
        if (input.empty())
            partners.emplace_back(prefix + tied.input + ".weight", encoder);
    }
    return partners;
}

/// The LoRA group of one adapted module; ConversionError when the config does not describe it.
const CsLoraGroup& group_of(const std::vector<CsLoraGroup>& groups, const std::string& model,
                            const std::string& module, const Node& section, const std::string& config_file)
{
    auto classes = cs_module_classes(model, module, section);
    if (!classes) {
        // Outside the known module tree only the layer's own class can be matched.
        const std::string leaf = cs_leaf_class(module);
        for (const auto& g : groups)
            if (g.target_modules)
                for (const auto& t : *g.target_modules)
                    if (t != leaf && t != "Linear" && t != "Embedding")
                        throw ConversionError(fmt::format(
                            "{}: cannot tell whether {} lies inside a {} module: ckptconv does not know the Model "
                            "Zoo module classes of {} or of that tensor (target_modules naming Linear or Embedding "
                            "alone work for every model; docs/mappings-lora-classes.md lists the known ones)",
                            config_file, module, t, model));
        classes = std::vector<std::string>{leaf};
    }
    const auto index = group_for(groups, *classes);
    if (!index || groups[*index].r == 0)
        throw ConversionError(fmt::format("{}: the checkpoint has LoRA factors for {} ({}), but lora_params give that "
                                          "module {}; the checkpoint and its config do not belong together",
                                          config_file, module, fmt::join(*classes, " > "),
                                          index ? "rank 0" : "no group"));
    return groups[*index];
}

FoldResult fold_cs(const host::Registry& reg, const std::vector<host::PluginRecord>& plugins, const FoldRequest& r)
{
    const std::string cfg_file = r.config.string();
    const std::string ck_file = r.checkpoint.string();
    const host::ModelEntry* entry = reg.find(r.model);
    if (!entry)
        throw ConversionError(fmt::format("The model {} is not supported. Supported models: {}", r.model,
                                          fmt::join(reg.names(), ", ")));
    const std::string model = entry->name;

    Node config = read_config(r.config);
    const std::vector<CsLoraGroup> groups = parse_cs_lora_params(pop_lora_params(config, cfg_file), cfg_file);
    Node& section = *cs_model_section(config, cfg_file);

    log::info("Loading config & checkpoint...");
    Checkpoint ck = open_checkpoint(r.checkpoint, &plugins);
    const Node* model_node = ck.root.find("model");
    if (!model_node || ck.format.rfind("mdl", 0) != 0)
        throw_input("{}: fold-lora without --lora-adapter needs a Cerebras checkpoint with a 'model' entry (this is "
                    "a {} file); for a Hugging Face model give its PEFT adapters with --lora-adapter",
                    ck_file, ck.format);
    const std::vector<NamedTensor> tensors = flat_tensors(*model_node, ck_file + " ['model']");
    const auto modules = find_cs_lora_modules(tensors, ck_file);
    if (modules.empty())
        throw_input("{}: the checkpoint has no *.lora_A / *.lora_B tensors: nothing to fold", ck_file);

    engine::Plan plan(tensors);
    std::map<std::string, const CsLoraModule*> by_weight;
    std::set<std::string> factors;
    for (const auto& [module, m] : modules) {
        by_weight[m.weight] = &m;
        factors.insert(m.a);
        factors.insert(m.b);
    }
    // A module the config adapts must have its factors, as the Model Zoo's strict load requires.
    for (const auto& t : tensors) {
        if (!ends_with(t.name, ".weight") || by_weight.count(t.name) || t.tensor->info().shape.size() != 2)
            continue;
        const std::string module = t.name.substr(0, t.name.size() - 7);
        const auto classes = cs_module_classes(model, module, section);
        if (!classes || (classes->back() != "Linear" && classes->back() != "Embedding"))
            continue;
        const auto index = group_for(groups, *classes);
        if (index && groups[*index].r > 0)
            throw ConversionError(fmt::format("{}: lora_params adapt {} ({}) but the checkpoint {} has no {}.lora_A "
                                              "and {}.lora_B; the checkpoint and its config do not belong together",
                                              cfg_file, module, fmt::join(*classes, " > "), ck_file, module, module));
    }

    const std::vector<std::pair<std::string, std::string>> partners = break_embedding_ties(model, modules, section);

    std::map<std::string, engine::ValueId> base_values;
    for (const auto& t : tensors) {
        if (factors.count(t.name))
            continue;
        const engine::ValueId in = plan.input(t.name);
        base_values[t.name] = in;
        auto it = by_weight.find(t.name);
        if (it == by_weight.end()) {
            engine::OpRequest op;
            op.kind = engine::OpKind::copy;
            op.output = t.name;
            op.inputs = {in};
            plan.add(std::move(op));
            continue;
        }
        const std::string module = t.name.substr(0, t.name.size() - 7);
        const CsLoraGroup& g = group_of(groups, model, module, section, cfg_file);
        Update u;
        u.a = plan.input(it->second->a);
        u.b = plan.input(it->second->b);
        const int64_t rank = plan.value_info(u.a).shape.empty() ? 0 : plan.value_info(u.a).shape[0];
        if (rank != g.r)
            throw_input("{}: {} has rank {}, but lora_params give {} rank {}", ck_file, it->second->a, rank, module,
                        g.r);
        const auto classes = cs_module_classes(model, module, section);
        const bool is_embedding = (classes ? classes->back() : cs_leaf_class(module)) == "Embedding";
        u.transposed = is_embedding || g.fan_in_fan_out;
        u.scale = g.scale();
        add_merge(plan, t.name, in, {u}, t.name);
    }
    for (const auto& [partner, source] : partners) {
        if (base_values.count(partner))
            continue;
        engine::OpRequest op;
        op.kind = engine::OpKind::copy;
        op.output = partner;
        op.inputs = {base_values.at(source)};
        plan.add(std::move(op));
        log::info("{} is written from {} as it was before the fold (untied)", partner, source);
    }
    engine::validate(plan, false);

    const std::string ck_name = r.checkpoint.filename().string();
    const std::string cfg_name = r.config.filename().string();
    FoldResult res;
    res.checkpoint = out_dir_for(r, r.checkpoint) / insert_suffix(ck_name, "_folded");
    res.config = out_dir_for(r, r.config) / insert_suffix(cfg_name, "_folded");
    if (r.dry_run) {
        std::cout << plan.describe();
        std::cout << fmt::format("\nWould write {} and {}\n", res.checkpoint.string(), res.config.string());
        return res;
    }

    std::vector<NamedTensor> outputs = plan.outputs();
    ensure_dir(res.checkpoint.parent_path());
    ensure_dir(res.config.parent_path());
    refuse_input_overwrite(res.checkpoint, ck.files);
    refuse_input_overwrite(res.config, {r.config});
    log::info("Folding LoRA weights...");
    ProgressBar bar("Folding LoRA weights", unique_bytes(outputs), r.progress);
    outputs = with_progress(outputs, bar);
    Node root = Node::map();
    root.set("model", tensors_to_map(outputs));
    AtomicOutput ck_out(res.checkpoint, AtomicOutput::Type::file, r.force);
    AtomicOutput cfg_out(res.config, AtomicOutput::Type::file, r.force);
    if (ck.format == "mdl-pickle") {
        write_mdl_pickle(ck_out.path(), root);
    } else {
        MdlWriteOptions opts;
        opts.layout = ck.format == "mdl-h5-2.5" ? 5 : 4;
        for (const auto& [k, v] : ck.metadata)
            if (k == "__cstorch_version__")
                opts.cstorch_version = v;
        write_mdl(ck_out.path(), root, opts);
    }
    write_yaml_config(cfg_out.path(), config, kUnsortedYaml);
    ck_out.commit();
    cfg_out.commit();
    return res;
}

FoldResult fold_hf(const std::vector<host::PluginRecord>& plugins, const FoldRequest& r)
{
    const Node config = read_config(r.config);
    log::info("Loading config & checkpoint...");
    Checkpoint ck = open_checkpoint(r.checkpoint, &plugins);
    if (ck.format.rfind("mdl", 0) == 0)
        throw_input("{}: --lora-adapter takes a Hugging Face checkpoint; this is a Cerebras {} file (its LoRA "
                    "factors are folded without --lora-adapter)",
                    r.checkpoint.string(), ck.format);
    std::string text;
    std::vector<NamedTensor> outputs = merge_peft_adapters(flat_tensors(ck.root, r.checkpoint.string()), r.adapters,
                                                          config, &plugins, r.dry_run ? &text : nullptr);
    std::string stem = r.checkpoint.filename().string();
    if (fs::is_directory(r.checkpoint))
        stem = r.checkpoint.filename().empty() ? r.checkpoint.parent_path().filename().string() : stem;
    const auto dot = stem.find('.');
    if (dot != std::string::npos && dot > 0)
        stem = stem.substr(0, dot);
    FoldResult res;
    res.checkpoint = out_dir_for(r, r.checkpoint) / (stem + "_folded");
    res.config = res.checkpoint / "config.json";
    if (r.dry_run) {
        std::cout << text;
        std::cout << fmt::format("\nWould write {}\n", res.checkpoint.string());
        return res;
    }
    ensure_dir(res.checkpoint.parent_path());
    refuse_input_overwrite(res.checkpoint, ck.files);
    ProgressBar bar("Merging LoRA adapters", unique_bytes(outputs), r.progress);
    outputs = with_progress(outputs, bar);
    AtomicOutput dir(res.checkpoint, AtomicOutput::Type::directory, r.force);
    const bool safetensors = ck.format.rfind("safetensors", 0) == 0;
    if (ck.format.find("sharded") != std::string::npos) {
        ShardOptions opts;
        opts.safetensors = safetensors;
        write_hf_sharded(dir.path(), outputs, opts, [](const fs::path& shard, const std::vector<NamedTensor>& ts) {
            write_torch(shard, tensors_to_map(ts));
        });
    } else if (safetensors) {
        // One file in, one file out, under the input's name (tied names are written once).
        write_safetensors(dir.path() / r.checkpoint.filename(), safetensors_library_order(outputs), {{"format", "pt"}});
    } else {
        write_torch(dir.path() / r.checkpoint.filename(), tensors_to_map(outputs));
    }
    write_config(dir.path() / "config.json", config, false);
    dir.commit();
    return res;
}

} // namespace

std::string insert_suffix(const std::string& file, const std::string& suffix)
{
    // os.path.splitext: the last dot, unless everything before it is dots (a hidden file).
    const auto dot = file.rfind('.');
    if (dot == std::string::npos || file.find_first_not_of('.') >= dot)
        return file + suffix;
    return file.substr(0, dot) + suffix + file.substr(dot);
}

FoldResult fold_lora(const host::Registry& registry, const std::vector<host::PluginRecord>& plugins,
                     const FoldRequest& request)
{
    if (!request.adapters.empty())
        return fold_hf(plugins, request);
    return fold_cs(registry, plugins, request);
}

} // namespace ckpt::lora
