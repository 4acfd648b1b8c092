// SPDX-License-Identifier: Apache-2.0
// Hugging Face PEFT LoRA adapters merged into a base state dict through one plan.
#include "lora/peft_adapter.hpp"

#include "config/json_config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/executor.hpp"
#include "engine/plan.hpp"
#include "formats/container.hpp"
#include "lora/lora_merge.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>

namespace ckpt::lora {

namespace fs = std::filesystem;

namespace {

/// What merging needs from adapter_config.json (PEFT's LoraConfig; defaults as PEFT's).
struct PeftConfig {
    int64_t r = 8;
    double alpha = 8;
    bool rslora = false;
    std::vector<std::pair<std::string, int64_t>> rank_pattern;
    std::vector<std::pair<std::string, double>> alpha_pattern;
    Node target_modules;
};

struct Adapter {
    std::string name; // the directory, for messages
    std::string weights_file;
    PeftConfig config;
    std::vector<NamedTensor> tensors;
};

bool ends_with(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

PeftConfig read_config(const fs::path& file)
{
    const std::string f = file.string();
    const Node cfg = read_json_config(file);
    PeftConfig c;
    auto get = [&](const char* key) -> const Node* {
        const Node* n = cfg.find(key);
        return n && !n->is_null() ? n : nullptr;
    };
    auto number = [&](const char* key, const Node& n) {
        if (n.kind() != Node::Kind::integer && n.kind() != Node::Kind::floating)
            throw_input("{}: {} must be a number, found a {}", f, key, Node::kind_name(n.kind()));
        return n.as_float();
    };
    auto flag = [&](const char* key) {
        const Node* n = get(key);
        if (!n)
            return false;
        if (n->kind() != Node::Kind::boolean)
            throw_input("{}: {} must be true or false, found a {}", f, key, Node::kind_name(n->kind()));
        return n->as_bool();
    };
    const Node* type = get("peft_type");
    const std::string t = type && type->kind() == Node::Kind::string ? type->as_string() : "";
    if (t != "LORA")
        throw_input("{}: peft_type is {}; only LoRA adapters (peft_type LORA) can be merged", f,
                    t.empty() ? "missing" : "'" + t + "'");
    if (flag("use_dora"))
        throw_input("{}: use_dora is true; DoRA adapters (a magnitude vector per module) are not supported, only "
                    "plain LoRA",
                    f);
    if (flag("lora_bias"))
        throw_input("{}: lora_bias is true; LoRA adapters with a bias of their own are not supported", f);
    if (const Node* n = get("r")) {
        if (n->kind() != Node::Kind::integer)
            throw_input("{}: r must be an integer, found a {}", f, Node::kind_name(n->kind()));
        c.r = n->as_int();
    }
    if (const Node* n = get("lora_alpha"))
        c.alpha = number("lora_alpha", *n);
    c.rslora = flag("use_rslora");
    flag("fan_in_fan_out"); // type-checked only: PEFT sets it from the layer kind (Linear or Conv1D)
    for (const char* key : {"rank_pattern", "alpha_pattern"}) {
        const Node* n = get(key);
        if (!n)
            continue;
        if (!n->is_map())
            throw_input("{}: {} must be a mapping of module patterns, found a {}", f, key, Node::kind_name(n->kind()));
        for (const auto& [k, v] : n->entries()) {
            const std::string pattern = Node::key_text(k);
            if (std::string(key) == "rank_pattern") {
                if (v.kind() != Node::Kind::integer)
                    throw_input("{}: rank_pattern['{}'] must be an integer", f, pattern);
                c.rank_pattern.emplace_back(pattern, v.as_int());
            } else {
                c.alpha_pattern.emplace_back(pattern, number("alpha_pattern", v));
            }
        }
    }
    if (const Node* n = get("target_modules"))
        c.target_modules = *n;
    return c;
}

Adapter read_adapter(const fs::path& dir, const std::vector<host::PluginRecord>* plugins)
{
    Adapter a;
    a.name = dir.string();
    const fs::path cfg = dir / "adapter_config.json";
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw_input("{}: --lora-adapter takes a PEFT adapter directory (adapter_config.json and "
                    "adapter_model.safetensors or .bin)",
                    a.name);
    if (!fs::exists(cfg, ec))
        throw_input("{}: no adapter_config.json in the adapter directory", a.name);
    a.config = read_config(cfg);
    for (const char* name : {"adapter_model.safetensors", "adapter_model.bin"})
        if (fs::exists(dir / name, ec)) {
            a.weights_file = (dir / name).string();
            break;
        }
    if (a.weights_file.empty())
        throw_input("{}: no adapter_model.safetensors or adapter_model.bin in the adapter directory", a.name);
    Checkpoint ck = open_checkpoint(a.weights_file, plugins);
    a.tensors = flat_tensors(ck.root, a.weights_file);
    return a;
}

/// PEFT's get_pattern_key: the first pattern that matches the end of the module name on a dot.
template <class T>
const T* pattern_value(const std::vector<std::pair<std::string, T>>& patterns, const std::string& module,
                       const std::string& file)
{
    for (const auto& [p, v] : patterns) {
        try {
            if (std::regex_match(module, std::regex("(.*\\.)?(" + p + ")")))
                return &v;
        } catch (const std::regex_error&) {
            throw_input("{}: the module pattern '{}' is not a regular expression ckptconv can read", file, p);
        }
    }
    return nullptr;
}

/// Whether PEFT would have adapted `module` (check_target_module_exists, for the common forms).
bool targeted(const Node& target_modules, const std::string& module)
{
    if (target_modules.is_null())
        return true;
    if (target_modules.kind() == Node::Kind::string) {
        const std::string t = target_modules.as_string();
        if (t == "all-linear")
            return true;
        try {
            return std::regex_match(module, std::regex(t));
        } catch (const std::regex_error&) {
            return true; // a Python-only pattern: the factors themselves say what was adapted
        }
    }
    if (!target_modules.is_sequence())
        return true;
    for (const Node& n : target_modules.items()) {
        if (n.kind() != Node::Kind::string)
            continue;
        const std::string& t = n.as_string();
        if (module == t || ends_with(module, "." + t))
            return true;
    }
    return false;
}

/// GPT-2's attention and MLP projections are transformers' Conv1D: weight stored [in, out].
bool is_conv1d(const Node& hf_config, const std::string& module)
{
    const Node* type = hf_config.find("model_type");
    if (!type || type->kind() != Node::Kind::string || type->as_string() != "gpt2")
        return false;
    static const std::regex conv1d(R"((.*\.)?(c_attn|c_proj|c_fc|q_attn))");
    return std::regex_match(module, conv1d);
}

struct Factors {
    std::string a, b;
    bool embedding = false;
};

} // namespace

std::vector<NamedTensor> merge_peft_adapters(std::vector<NamedTensor> base, const std::vector<fs::path>& adapters,
                                             const Node& hf_config, const std::vector<host::PluginRecord>* plugins,
                                             std::string* describe)
{
    if (adapters.empty())
        return base;
    std::vector<Adapter> loaded;
    for (const auto& dir : adapters)
        loaded.push_back(read_adapter(dir, plugins));

    // Plan inputs: the base tensors, then each adapter's as "<index>:<key>" so names stay unique.
    std::vector<NamedTensor> inputs = base;
    std::map<std::string, size_t> base_index;
    for (size_t i = 0; i < base.size(); ++i)
        base_index[base[i].name] = i;
    for (size_t k = 0; k < loaded.size(); ++k)
        for (const auto& t : loaded[k].tensors)
            inputs.push_back(NamedTensor{fmt::format("adapter{}:{}", k, t.name), t.tensor});
    engine::Plan plan(std::move(inputs));

    // Updates by base weight name, adapters in order.
    std::map<std::string, std::vector<Update>> updates;
    static const std::string kPrefix = "base_model.model.";
    for (size_t k = 0; k < loaded.size(); ++k) {
        const Adapter& ad = loaded[k];
        std::map<std::string, Factors> modules;
        for (const auto& t : ad.tensors) {
            const std::string& key = t.name;
            if (key.rfind(kPrefix, 0) != 0)
                throw_input("{}: {} is not a PEFT LoRA key (expected base_model.model.<module>.lora_A.weight)",
                            ad.weights_file, key);
            const std::string rest = key.substr(kPrefix.size());
            bool matched = false;
            for (const auto& [suffix, is_a, emb] : {std::tuple{".lora_A.weight", true, false},
                                                    std::tuple{".lora_B.weight", false, false},
                                                    std::tuple{".lora_embedding_A", true, true},
                                                    std::tuple{".lora_embedding_B", false, true}}) {
                if (!ends_with(rest, suffix))
                    continue;
                Factors& f = modules[rest.substr(0, rest.size() - std::string(suffix).size())];
                (is_a ? f.a : f.b) = key;
                f.embedding = emb;
                matched = true;
                break;
            }
            if (!matched)
                throw_input("{}: {} is not a LoRA factor (lora_A/lora_B weights or lora_embedding_A/B); adapters "
                            "with other trainable tensors (DoRA magnitudes, modules_to_save, biases) are not "
                            "supported",
                            ad.weights_file, key);
        }
        for (const auto& [module, f] : modules) {
            if (f.a.empty() || f.b.empty())
                throw_input("{}: {} has only one of its two LoRA factors ({})", ad.weights_file, module,
                            f.a.empty() ? f.b : f.a);
            const std::string weight = module + ".weight";
            if (!base_index.count(weight))
                throw_input("{}: the adapter adapts {}, but the base checkpoint has no {}", ad.weights_file, module,
                            weight);
            if (!targeted(ad.config.target_modules, module))
                throw_input("{}: {} is not among the adapter's target_modules", ad.weights_file, module);
            Update u;
            u.a = plan.input(fmt::format("adapter{}:{}", k, f.a));
            u.b = plan.input(fmt::format("adapter{}:{}", k, f.b));
            const TensorInfo& ai = plan.value_info(u.a);
            const int64_t* pr = pattern_value(ad.config.rank_pattern, module, ad.name);
            const double* pa = pattern_value(ad.config.alpha_pattern, module, ad.name);
            const int64_t r = pr ? *pr : ad.config.r;
            if (r <= 0)
                throw_input("{}: {}: LoRA rank {} (from adapter_config.json); a rank-0 adapter has nothing to merge",
                            ad.weights_file, f.a, r);
            if (ai.shape.size() == 2 && ai.shape[0] != r)
                throw_input("{}: {} has rank {}, but adapter_config.json gives {} rank {}", ad.weights_file, f.a,
                            ai.shape[0], module, r);
            const double a_value = pa ? *pa : ad.config.alpha;
            u.scale = ad.config.rslora ? a_value / std::sqrt(static_cast<double>(r)) : a_value / static_cast<double>(r);
            const TensorInfo& w = base[base_index[weight]].tensor->info();
            const TensorInfo& bi = plan.value_info(u.b);
            if (f.embedding) {
                u.transposed = true;
            } else if (w.shape.size() == 2 && ai.shape.size() == 2 && bi.shape.size() == 2 && w.shape[0] != w.shape[1]) {
                u.transposed = ai.shape[1] == w.shape[0] && bi.shape[0] == w.shape[1];
            } else {
                u.transposed = is_conv1d(hf_config, module);
            }
            updates[weight].push_back(u);
        }
    }

    // Outputs in base order; names tied to a merged tensor are tied to its result.
    std::map<const TensorData*, engine::ValueId> merged;
    for (const auto& t : base) {
        auto it = updates.find(t.name);
        if (it != updates.end())
            merged[t.tensor.get()] = add_merge(plan, t.name, plan.input(t.name), it->second, t.name);
    }
    std::vector<std::string> order;
    for (const auto& t : base) {
        if (updates.count(t.name))
            continue;
        engine::OpRequest op;
        op.kind = engine::OpKind::copy;
        op.output = t.name;
        auto m = merged.find(t.tensor.get());
        op.inputs = {m != merged.end() ? m->second : plan.input(t.name)};
        if (m != merged.end()) {
            plan.drop(t.name);
            log::info("{} is tied to a merged weight and follows it", t.name);
        }
        plan.add(std::move(op));
    }
    engine::validate(plan, false);
    if (describe)
        *describe = plan.describe();
    // Keep the base order: outputs() lists merged tensors first.
    std::map<std::string, TensorPtr> by_name;
    for (auto& t : plan.outputs())
        by_name[t.name] = t.tensor;
    std::vector<NamedTensor> out;
    for (const auto& t : base)
        out.push_back(NamedTensor{t.name, by_name.at(t.name)});
    return out;
}

} // namespace ckpt::lora
