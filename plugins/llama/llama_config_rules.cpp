// SPDX-License-Identifier: Apache-2.0
// The llama/mistral config rules, defaults and custom actions (spec/mappings.md §2.2 c, §2.9).
#include "llama_config_rules.hpp"

#include "mup_folding.hpp"

#include <ckptconv/cpp/value.hpp>

#include <cctype>

namespace ckpt::llama {

namespace {

using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::Value;

constexpr int kHf = 0;
constexpr int kCs = 1;

/// A fragment that matches exactly one config key.
sdk::Segment key(const std::string& k) { return eq(k, k); }

/// hidden_act <-> nonlinearity: HF names the gate activation, CS the gated unit.
sdk::ConfigAction convert_nonlinearity()
{
    return sdk::config_action("convert_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string& n) {
        static const std::pair<const char*, const char*> kGlu[] = {
            {"silu", "swiglu"}, {"relu", "reglu"}, {"gelu", "geglu"}};
        sdk::ConstNode v = c.src[o];
        const std::string act = v.kind() == CKPT_NODE_STRING ? v.as_string() : Value::read(v).str();
        for (const auto& [hf, cs] : kGlu) {
            if (act == (c.from == kHf ? hf : cs)) {
                c.dst.entry(n).set(c.from == kHf ? cs : hf);
                return;
            }
        }
        if (c.from == kHf)
            throw ConfigConversionError(act + " is not a GLU-able activation in CS");
        throw ConfigConversionError(act + " is not a supported GLU activation in HF");
    });
}

/// num_key_value_heads <-> attention_module + extra_attention_params.num_kv_groups.
sdk::ConfigAction convert_gqa()
{
    return sdk::config_action("convert_gqa", [](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kHf) {
            const int64_t heads = config_int(c.src, "num_attention_heads", "HF");
            // transformers treats a null num_key_value_heads as "one per head" (plain MHA).
            if (c.src[o].is_null() || config_int(c.src, o, "HF") == heads) {
                c.dst.entry("attention_module").set("aiayn_attention");
                return;
            }
            const int64_t kv = config_int(c.src, o, "HF");
            if (kv <= 0 || heads % kv != 0)
                throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                                 "number of attention heads should be divisible by num_key_value_heads but got " +
                                     std::to_string(heads) + " and " + std::to_string(kv) + ",");
            sdk::Node extra = c.dst.entry(n);
            extra.make_map();
            extra.entry("num_kv_groups").set(kv);
            c.dst.entry("attention_module").set("multiquery_attention");
            return;
        }
        const std::string mod = config_string_or(c.src, "attention_module", "aiayn_attention");
        if (mod == "aiayn_attention") {
            if (c.src[o].is_map() && c.src[o].has("num_kv_groups"))
                throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                                 "Conflict between use of multi-query and multi-head attention");
            c.dst.entry(n).assign(c.src["num_heads"]);
        } else if (mod == "multiquery_attention") {
            const int64_t heads = config_int(c.src, "num_heads", "CS");
            const int64_t groups = config_int(c.src[o], "num_kv_groups", "CS extra_attention_params");
            if (groups <= 0 || heads % groups != 0)
                throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                                 "number of attention heads should be divisible by num_key_value_heads but got " +
                                     std::to_string(heads) + " and " + std::to_string(groups) + ".");
            c.dst.entry(n).set(groups);
        } else {
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "attention_module " + mod + " is not supported for llama");
        }
    });
}

/// rotary_dim exists only in CS configs and must cover the whole head (HF rotates all of it).
sdk::ConfigAction assert_rotary_dim()
{
    return sdk::config_action("assert_rotary_dim", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from != kCs)
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, o + " should only exist in CS config");
        const int64_t heads = config_int(c.src, "num_heads", "CS");
        if (heads <= 0)
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive");
        if (Value::read(c.src[o]) != Value(config_int(c.src, "hidden_size", "CS") / heads))
            throw ConfigConversionError("rotary_dim must be hidden_size // num_heads in order to be compatible with HF");
    });
}

/// rope_scaling <-> pos_scaling_factor (+ pos_scaling_type, pos_scaling_extra_args).
sdk::ConfigAction convert_pi()
{
    return sdk::config_action("convert_pi", [](ConfigContext& c, const std::string& o, const std::string& n) {
        sdk::ConstNode v = c.src[o];
        if (c.from == kHf) {
            if (!v.present() || v.is_null()) {
                c.dst.entry(n).set(1.0);
                return;
            }
            if (!v.is_map())
                throw ConfigConversionError("rope_scaling must be a dictionary or null, found " + Value::read(v).str());
            sdk::ConstNode type_node = v.has("type") ? v["type"] : v["rope_type"];
            if (!type_node.present() || type_node.kind() != CKPT_NODE_STRING)
                throw ConfigConversionError("rope_scaling needs a 'type' or 'rope_type' string, found " +
                                            Value::read(v).str());
            std::string type = type_node.as_string();
            for (char& ch : type)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (type != "linear" && type != "yarn" && type != "llama3" && type != "longrope")
                throw ConfigConversionError("Only `rope_scaling` type `linear`, `yarn`,`llama3` or 'longrope' are "
                                            "currently supported, but got type `" + type + "`.");
            if (!v.has("factor"))
                throw ConfigConversionError("rope_scaling of type " + type + " needs a 'factor'");
            c.dst.entry(n).assign(v["factor"]);
            c.dst.entry("pos_scaling_type").set(type);
            if (type == "yarn") {
                sdk::Node extra = c.dst.entry("pos_scaling_extra_args");
                extra.make_map();
                if (!v.has("original_max_position_embeddings"))
                    throw ConfigConversionError("rope_scaling of type yarn needs 'original_max_position_embeddings'");
                extra.entry("original_max_position_embeddings").assign(v["original_max_position_embeddings"]);
            } else if (type == "llama3" || type == "longrope") {
                // llama3 drops rope_type and factor; longrope drops type and factor (keeping
                // rope_type, as the Model Zoo does). A llama3 dict spelled with `type` makes
                // the Model Zoo raise KeyError; we accept it and drop `type` too.
                sdk::Node extra = c.dst.entry("pos_scaling_extra_args");
                extra.make_map();
                for (size_t i = 0; i < v.size(); ++i) {
                    const std::string k = v.key_at(i);
                    if (k == "factor" || k == "type" || (type == "llama3" && k == "rope_type"))
                        continue;
                    extra.entry(k).assign(v.value_at(i));
                }
            }
            return;
        }
        if (Value::read(v) == Value(1.0)) {
            c.dst.entry(n).set_null();
            return;
        }
        // The Model Zoo indexes pos_scaling_type directly (KeyError when absent) and then
        // defaults it to linear; we take the default.
        const std::string type = config_string_or(c.src, "pos_scaling_type", "linear");
        sdk::Node out = c.dst.entry(n);
        out.make_map();
        out.entry(type == "llama3" ? "rope_type" : "type").set(type);
        out.entry("factor").assign(v);
        sdk::ConstNode extra = c.src["pos_scaling_extra_args"];
        if (extra.is_map())
            for (size_t i = 0; i < extra.size(); ++i)
                out.entry(extra.key_at(i)).assign(extra.value_at(i));
    });
}

} // namespace

LlamaConfigConverter::LlamaConfigConverter(Variant variant) : m_variant(variant)
{
    using sdk::assert_value;
    using sdk::rename_key;
    const sdk::ConfigAction drop{};

    if (m_variant.mistral)
        rules.add({eq("sliding_window", "attention_sliding_window_length")}, rename_key());
    rules.add({eq("rope_scaling", "pos_scaling_factor")}, convert_pi())
        .add({eq("", "pos_scaling_extra_args")}, drop)
        .add({eq("", "pos_scaling_type")}, drop)
        .add({key("norm_type")}, assert_value(kCs, {"rmsnorm"}))
        .add({eq("num_key_value_heads", "extra_attention_params")}, convert_gqa())
        .add({key("model_type")}, assert_value(kHf, {Value(m_variant.model_type())}))
        .add({key("vocab_size")}, rename_key())
        .add({key("position_embedding_type")}, assert_value(kCs, {"rotary"}))
        .add({key("use_position_embedding")}, assert_value(kCs, {true}))
        .add({key("embedding_dropout_rate")}, assert_value(kCs, {0.0}))
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key())
        .add({key("embedding_layer_norm")}, assert_value(kCs, {false}))
        .add({key("hidden_size")}, rename_key())
        .add({eq("num_attention_heads", "num_heads")}, rename_key())
        .add({key("num_hidden_layers")}, rename_key())
        .add({key("max_position_embeddings")}, rename_key())
        .add({key("attention_type")}, assert_value(kCs, {"scaled_dot_product"}))
        .add({key("use_projection_bias_in_attention")}, assert_value(kCs, {false}))
        .add({key("use_ffn_bias_in_attention")}, assert_value(kCs, {false}))
        .add({key("use_ffn_bias")}, assert_value(kCs, {false}))
        .add({eq("intermediate_size", "filter_size")}, rename_key())
        .add({eq("hidden_act", "nonlinearity")}, convert_nonlinearity())
        .add({key("attention_dropout_rate")}, assert_value(kCs, {0.0}))
        .add({key("dropout_rate")}, assert_value(kCs, {0.0}))
        .add({key("rotary_dim")}, assert_rotary_dim())
        .add({key("rope_theta")}, rename_key())
        .add({eq("rms_norm_eps", "layer_norm_epsilon")}, rename_key())
        .add({key("use_bias_in_output")}, assert_value(kCs, {false}))
        .add({key("initializer_range")}, rename_key())
        .add({key("fixed_sparse_attention")}, assert_value(kCs, {nullptr}))
        .add({key("norm_first")}, assert_value(kCs, {true}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCs, {false}))
        .add({key("use_rms_norm")}, assert_value(kCs, {true}));

    pre_defaults[kHf] = {{"vocab_size", 32000},      {"hidden_size", 4096},
                         {"intermediate_size", 11008}, {"num_hidden_layers", 32},
                         {"num_attention_heads", 32}, {"hidden_act", "silu"},
                         {"initializer_range", 0.02}, {"rms_norm_eps", 1e-06},
                         {"tie_word_embeddings", false}, {"max_position_embeddings", 2048},
                         {"rope_scaling", nullptr}};
    pre_defaults[kCs] = {{"share_embedding_weights", true},
                         {"max_position_embeddings", 1024},
                         {"position_embedding_type", "learned"},
                         {"layer_norm_epsilon", 1e-05},
                         {"use_projection_bias_in_attention", true},
                         {"use_ffn_bias_in_attention", true},
                         {"nonlinearity", "gelu"},
                         {"use_ffn_bias", true},
                         {"use_bias_in_output", false},
                         {"norm_first", true},
                         {"norm_type", "layernorm"},
                         {"pos_scaling_factor", 1.0}};
    // The Model Zoo writes model_type (and, for mistral, architectures). We also write
    // architectures for llama and torch_dtype: what transformers' save_pretrained writes today
    // and vLLM needs (design.md §5). torch_dtype cannot be read from here (the config is
    // converted before the checkpoint is planned); CS checkpoints keep float32 master weights.
    post_defaults[kHf] = {{"model_type", Value(m_variant.model_type())},
                          {"architectures", Value::list({Value(m_variant.hf_class())})},
                          {"torch_dtype", "float32"}};
    post_defaults[kCs] = {{"position_embedding_type", "rotary"},
                          {"embedding_dropout_rate", 0.0},
                          {"embedding_layer_norm", false},
                          {"attention_type", "scaled_dot_product"},
                          {"use_projection_bias_in_attention", false},
                          {"use_ffn_bias_in_attention", false},
                          {"use_ffn_bias", false},
                          {"attention_dropout_rate", 0.0},
                          {"dropout_rate", 0.0},
                          {"use_bias_in_output", false},
                          {"norm_first", true},
                          {"use_ff_layer1_dropout", false},
                          {"norm_type", "rmsnorm"},
                          {"name", Value(m_variant.registry_name())}};
    // Release_2.3.0 expresses only linear scaling, as pos_scaling_factor alone; the other keys
    // here are known from cs-2.1, the oldest target (docs/config-keys-by-release.md).
    gates = sdk::rope_scaling_gates();
    gates.push_back(sdk::registry_name_gate());
}

void LlamaConfigConverter::pre_convert(sdk::ConfigContext& ctx, sdk::Node work) const
{
    if (ctx.from != kCs)
        return;
    sdk::ConstNode rotary = work["rotary_dim"];
    if (!rotary.present() || rotary.is_null())
        throw ConfigConversionError("rotary_dim must be specified");
    // muP -> sP: its keys have no rule here, so they are dropped; the untying is done by
    // LlamaHfCs, which still sees the config before the defaults were filled in. Checked here so
    // that a partial pre-2.3 muP config fails in the config step.
    (void)mup_kind(work);
}

void LlamaConfigConverter::post_convert(sdk::ConfigContext& ctx) const
{
    if (ctx.from == kHf) {
        const int64_t heads = config_int(ctx.dst, "num_heads", "CS");
        if (heads <= 0)
            throw ConfigConversionError("num_attention_heads must be positive, found " + std::to_string(heads));
        ctx.dst.entry("rotary_dim").set(config_int(ctx.dst, "hidden_size", "CS") / heads);
        const auto v = cs_version(ctx.req.tgt_fmt);
        // Model Zoo 2.3's BaseConfigConverter_HF_CS post-default (the references were made with it).
        if (v && *v <= std::make_pair(2, 3) && !ctx.dst.has("mixed_precision"))
            ctx.dst.entry("mixed_precision").set(true);
    }
}

} // namespace ckpt::llama
