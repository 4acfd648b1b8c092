// SPDX-License-Identifier: Apache-2.0
// The LLaMA tables (config rows, tensor rows with the rotary interleave, HF shapes) on the decoder
// helper, for every family built on a LlamaModel: llama and mistral, mixtral, llava's language model.
//
// A family takes what it needs (plugins/llama is the short complete use):
//
//   const bool headless = false;
//   sdk::DecoderFamily fam = sdk::llama_family("llama", "Llama", "LlamaForCausalLM", "LlamaModel", headless);
//   def.model("llama").add(std::make_shared<sdk::DecoderHfCs>(fam, headless, sdk::cs_formats({2, 1}), true));
//
// and a compound model holds the LlamaModel rows (llama_model_rules) or the config table
// (LlamaStyleConfig) below a prefix of its own.
#pragma once

#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/release_gate.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::sdk {

// ---- config rows -------------------------------------------------------------------------------

/// hidden_act <-> nonlinearity: HF names the gate activation, CS the gated unit.
inline ConfigAction convert_glu_nonlinearity()
{
    return config_action("convert_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string& n) {
        static const std::pair<const char*, const char*> kGlu[] = {
            {"silu", "swiglu"}, {"relu", "reglu"}, {"gelu", "geglu"}};
        const ConstNode v = c.src[o];
        const std::string act = v.kind() == CKPT_NODE_STRING ? v.as_string() : Value::read(v).str();
        for (const auto& [hf, cs] : kGlu) {
            if (act == (c.from == kHfSide ? hf : cs)) {
                c.dst.entry(n).set(c.from == kHfSide ? cs : hf);
                return;
            }
        }
        if (c.from == kHfSide)
            throw ConfigConversionError(act + " is not a GLU-able activation in CS");
        throw ConfigConversionError(act + " is not a supported GLU activation in HF");
    });
}

/// num_key_value_heads <-> attention_module + extra_attention_params.num_kv_groups.
inline ConfigAction convert_gqa()
{
    return config_action("convert_gqa", [](ConfigContext& c, const std::string& o, const std::string& n) {
        auto indivisible = [](int64_t heads, int64_t kv, const char* end) {
            return Error(CKPT_ERR_INVALID_ARGUMENT, "number of attention heads should be divisible by "
                                                    "num_key_value_heads but got " + std::to_string(heads) + " and " +
                                                        std::to_string(kv) + end);
        };
        if (c.from == kHfSide) {
            const int64_t heads = config_int(c.src, "num_attention_heads", "HF");
            // transformers treats a null num_key_value_heads as "one per head" (plain MHA).
            if (c.src[o].is_null() || config_int(c.src, o, "HF") == heads) {
                c.dst.entry("attention_module").set("aiayn_attention");
                return;
            }
            const int64_t kv = config_int(c.src, o, "HF");
            if (kv <= 0 || heads % kv != 0)
                throw indivisible(heads, kv, ",");
            Node extra = c.dst.entry(n);
            extra.make_map();
            extra.entry("num_kv_groups").set(kv);
            c.dst.entry("attention_module").set("multiquery_attention");
            return;
        }
        const std::string mod = config_string_or(c.src, "attention_module", "aiayn_attention", "CS");
        if (mod == "aiayn_attention") {
            if (c.src[o].is_map() && c.src[o].has("num_kv_groups"))
                throw Error(CKPT_ERR_INVALID_ARGUMENT, "Conflict between use of multi-query and multi-head attention");
            c.dst.entry(n).assign(c.src["num_heads"]);
        } else if (mod == "multiquery_attention") {
            const int64_t heads = config_int(c.src, "num_heads", "CS");
            const int64_t groups = config_int(c.src[o], "num_kv_groups", "CS extra_attention_params");
            if (groups <= 0 || heads % groups != 0)
                throw indivisible(heads, groups, ".");
            c.dst.entry(n).set(groups);
        } else {
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "attention_module " + mod + " is not supported for llama");
        }
    });
}

/// rotary_dim exists only in CS configs and must cover the whole head (HF rotates all of it).
inline ConfigAction assert_full_rotary_dim()
{
    return config_action("assert_rotary_dim", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from != kCsSide)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, o + " should only exist in CS config");
        const int64_t heads = config_int(c.src, "num_heads", "CS");
        if (heads <= 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive");
        if (Value::read(c.src[o]) != Value(config_int(c.src, "hidden_size", "CS") / heads))
            throw ConfigConversionError("rotary_dim must be hidden_size // num_heads in order to be compatible with HF");
    });
}

/// The config table of ConfigConverter_LLaMa_HF_CS21 (`model_type` llama) and
/// ConfigConverter_Mistral_HF_CS21 (`sliding_window` true), HF (side 0) <-> CS cs-2.1+ (side 1)
/// (spec/mappings.md §2.2 c, §2.9). Beyond the Model Zoo it writes `architectures` and
/// `torch_dtype` into HF output (design.md §5) and, for HF -> cs-2.1 ... cs-2.3, the Model Zoo
/// 2.3 post-default `mixed_precision: true` (here, so that it keeps its place among the keys).
class LlamaStyleConfig : public DecoderConfig {
public:
    LlamaStyleConfig(const std::string& model_type, const std::string& hf_class, const std::string& registry_name,
                     bool sliding_window)
    {
        if (sliding_window)
            rules.add({eq("sliding_window", "attention_sliding_window_length")}, rename_key());
        rules.add({eq("rope_scaling", "pos_scaling_factor")}, convert_rope_scaling(/*llama=*/true))
            .add({eq("", "pos_scaling_extra_args")}, ConfigAction{})
            .add({eq("", "pos_scaling_type")}, ConfigAction{})
            .add({key("norm_type")}, assert_value(kCsSide, {"rmsnorm"}))
            .add({eq("num_key_value_heads", "extra_attention_params")}, convert_gqa())
            .add({key("model_type")}, assert_value(kHfSide, {Value(model_type)}))
            .add({key("vocab_size")}, rename_key())
            .add({key("position_embedding_type")}, assert_value(kCsSide, {"rotary"}))
            .add({key("use_position_embedding")}, assert_value(kCsSide, {true}))
            .add({key("embedding_dropout_rate")}, assert_value(kCsSide, {0.0}))
            .add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key())
            .add({key("embedding_layer_norm")}, assert_value(kCsSide, {false}))
            .add({key("hidden_size")}, rename_key())
            .add({eq("num_attention_heads", "num_heads")}, rename_key())
            .add({key("num_hidden_layers")}, rename_key())
            .add({key("max_position_embeddings")}, rename_key())
            .add({key("attention_type")}, assert_value(kCsSide, {"scaled_dot_product"}))
            .add({key("use_projection_bias_in_attention")}, assert_value(kCsSide, {false}))
            .add({key("use_ffn_bias_in_attention")}, assert_value(kCsSide, {false}))
            .add({key("use_ffn_bias")}, assert_value(kCsSide, {false}))
            .add({eq("intermediate_size", "filter_size")}, rename_key())
            .add({eq("hidden_act", "nonlinearity")}, convert_glu_nonlinearity())
            .add({key("attention_dropout_rate")}, assert_value(kCsSide, {0.0}))
            .add({key("dropout_rate")}, assert_value(kCsSide, {0.0}))
            .add({key("rotary_dim")}, assert_full_rotary_dim())
            .add({key("rope_theta")}, rename_key())
            .add({eq("rms_norm_eps", "layer_norm_epsilon")}, rename_key())
            .add({key("use_bias_in_output")}, assert_value(kCsSide, {false}))
            .add({key("initializer_range")}, rename_key())
            .add({key("fixed_sparse_attention")}, assert_value(kCsSide, {nullptr}))
            .add({key("norm_first")}, assert_value(kCsSide, {true}))
            .add({key("use_ff_layer1_dropout")}, assert_value(kCsSide, {false}))
            .add({key("use_rms_norm")}, assert_value(kCsSide, {true}));

        pre_defaults[kHfSide] = {{"vocab_size", 32000},        {"hidden_size", 4096},
                                 {"intermediate_size", 11008}, {"num_hidden_layers", 32},
                                 {"num_attention_heads", 32},  {"hidden_act", "silu"},
                                 {"initializer_range", 0.02},  {"rms_norm_eps", 1e-06},
                                 {"tie_word_embeddings", false}, {"max_position_embeddings", 2048},
                                 {"rope_scaling", nullptr}};
        pre_defaults[kCsSide] = gpt2_model_cs_defaults();
        pre_defaults[kCsSide].insert(pre_defaults[kCsSide].end(), {{"norm_type", "layernorm"}, {"pos_scaling_factor", 1.0}});
        // The Model Zoo writes model_type (and, for mistral, architectures); torch_dtype cannot be
        // read here (the config is converted before the checkpoint is planned) and CS checkpoints
        // keep float32 master weights.
        post_defaults[kHfSide] = {{"model_type", Value(model_type)},
                                  {"architectures", Value::list({Value(hf_class)})},
                                  {"torch_dtype", "float32"}};
        post_defaults[kCsSide] = {{"position_embedding_type", "rotary"},
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
                                  {"name", Value(registry_name)}};
        // Release_2.3.0 expresses only linear scaling, as pos_scaling_factor alone; the other keys
        // here are known from cs-2.1, the oldest target (docs/config-keys-by-release.md).
        gates = rope_scaling_gates();
        gates.push_back(registry_name_gate());
    }

protected:
    void pre_convert(ConfigContext& ctx, Node work) const override
    {
        if (ctx.from != kCsSide)
            return;
        const ConstNode rotary = work["rotary_dim"];
        if (!rotary.present() || rotary.is_null())
            throw ConfigConversionError("rotary_dim must be specified");
        // muP keys have no row, so they are dropped; checked here so that a partial pre-2.3 muP
        // config fails in the config step.
        (void)mup_form(work);
    }

    void post_convert(ConfigContext& ctx) const override
    {
        if (ctx.from != kHfSide)
            return;
        const int64_t heads = config_int(ctx.dst, "num_heads", "CS");
        if (heads <= 0)
            throw ConfigConversionError("num_attention_heads must be positive, found " + std::to_string(heads));
        ctx.dst.entry("rotary_dim").set(config_int(ctx.dst, "hidden_size", "CS") / heads);
        const auto v = cs_version(ctx.req.tgt_fmt);
        if (v && *v <= std::make_pair(2, 3) && !ctx.dst.has("mixed_precision"))
            ctx.dst.entry("mixed_precision").set(true);
    }
};

// ---- tensor rows -------------------------------------------------------------------------------

namespace detail {

[[noreturn]] inline void bad_rotary(const std::string& tensor, const std::string& why)
{
    throw Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + tensor + ": cannot apply the rotary interleave: " + why);
}

/// ROW_PERMUTE order changing the first `rotary_dim` rows of each of `heads` heads of
/// `head_dim` rows between HF's rotate-half and CS's interleaved layout, validated.
inline std::vector<int64_t> rotary_rows(const std::string& tensor, int64_t heads, int64_t head_dim,
                                        int64_t rotary_dim, bool to_cs)
{
    if (rotary_dim < 0 || rotary_dim % 2 != 0)
        bad_rotary(tensor, "rotary_dim must be even and non-negative, found " + std::to_string(rotary_dim));
    if (rotary_dim > head_dim)
        bad_rotary(tensor, "rotary_dim " + std::to_string(rotary_dim) + " is larger than the head size " +
                               std::to_string(head_dim));
    return to_cs ? rotary_rows_hf_to_cs(heads, head_dim, rotary_dim) : rotary_rows_cs_to_hf(heads, head_dim, rotary_dim);
}

/// The first dimension of the loaded tensor `id`, whose rank must be in [lo, hi].
inline int64_t rows_of(CheckpointContext& c, ckpt_value_id id, const std::string& key, size_t lo, size_t hi)
{
    const std::vector<int64_t> shape = c.plan.value_info(id).shape;
    if (shape.size() < lo || shape.size() > hi)
        throw Error(CKPT_ERR_INVALID_ARGUMENT,
                    "tensor " + key + ": expected " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " or " + std::to_string(hi)) +
                        " dimensions for the rotary interleave, found " + std::to_string(shape.size()));
    return shape.empty() ? 0 : shape[0];
}

/// Interleaves (HF -> CS) or un-interleaves (CS -> HF) a q or k projection of `heads` heads.
inline void interleave_projection(CheckpointContext& c, const std::string& o, const std::string& n, int64_t heads)
{
    const ckpt_value_id id = load_scaled(c, o);
    const int64_t rows = rows_of(c, id, o, 1, 2);
    if (heads <= 0)
        bad_rotary(o, "the number of heads must be positive, found " + std::to_string(heads));
    if (rows <= 0 || rows % heads != 0)
        bad_rotary(o, "its " + std::to_string(rows) + " rows do not split into " + std::to_string(heads) + " heads");
    const int64_t rotary_dim = config_int(c.config[kCsSide], "rotary_dim", "CS");
    c.plan.row_permute(n, id, rotary_rows(o, heads, rows / heads, rotary_dim, c.from == kHfSide));
}

} // namespace detail

/// q_proj: num_heads heads, rotary interleaved.
inline CheckpointAction interleave_query()
{
    return {"convert_with_interleaving_query", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                detail::interleave_projection(c, o, n, config_int(c.config[kCsSide], "num_heads", "CS"));
            }};
}

/// k_proj: num_heads heads (MHA) or num_kv_groups heads (GQA/MQA), rotary interleaved.
inline CheckpointAction interleave_key()
{
    return {"convert_with_interleaving_key", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ConstNode cs = c.config[kCsSide];
                const std::string mod = config_string_or(cs, "attention_module", "aiayn_attention", "CS");
                if (mod == "aiayn_attention")
                    detail::interleave_projection(c, o, n, config_int(cs, "num_heads", "CS"));
                else if (mod == "multiquery_attention")
                    detail::interleave_projection(
                        c, o, n, config_int(cs["extra_attention_params"], "num_kv_groups", "CS extra_attention_params"));
                else
                    throw Error(CKPT_ERR_INVALID_ARGUMENT, "attention_module " + mod + " is not supported for llama");
            }};
}

/// Per-head q/k RMSNorm weights (1-D, one head long) follow the rotary layout of q and k.
inline CheckpointAction interleave_head_norm()
{
    return {"convert_with_interleaving_norm", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = load_scaled(c, o);
                const int64_t len = detail::rows_of(c, id, o, 1, 1);
                if (len <= 0)
                    detail::bad_rotary(o, "it is empty");
                const int64_t rotary_dim = config_int(c.config[kCsSide], "rotary_dim", "CS");
                c.plan.row_permute(n, id, detail::rotary_rows(o, 1, len, rotary_dim, c.from == kHfSide));
            }};
}

/// The rows of LlamaModel (HF keys without `model.`), in the Model Zoo's order, with the CS-only
/// ln_f twin dropped (the head is the caller's).
inline void add_llama_model_rows(CheckpointRules& r)
{
    // The Model Zoo 2.3 name of the o_proj action (it also re-created rotary_emb.inv_freq on the
    // way to HF; current transformers no longer stores that buffer, so we only copy).
    const CheckpointAction output{"convert_output_and_inv_freq", copy_scaled().fn};
    add_rows(r, {{"embed_tokens", "embedding_layer.word_embeddings", copy_scaled()},
                 {"norm", "transformer_decoder.norm", final_norm()}});
    add_layer_rows(r, "layers", {{"self_attn.q_proj", "self_attn.proj_q_dense_layer", interleave_query()},
                                 {"self_attn.k_proj", "self_attn.proj_k_dense_layer", interleave_key()},
                                 {"self_attn.v_proj", "self_attn.proj_v_dense_layer", copy_scaled()},
                                 {"self_attn.o_proj", "self_attn.proj_output_dense_layer", output},
                                 {"self_attn.k_norm", "self_attn.k_norm", interleave_head_norm()},
                                 {"self_attn.q_norm", "self_attn.q_norm", interleave_head_norm()}});
    r.add({re(R"(layers\.\d+\.self_attn\.rotary_emb\.inv_freq)")}, drop_tensor());
    add_layer_rows(r, "layers", {{"input_layernorm", "norm1", copy_scaled()},
                                 {"post_attention_layernorm", "norm3", copy_scaled()},
                                 {"mlp.up_proj", "ffn.ffn.0.linear_layer", copy_scaled()},
                                 {"mlp.gate_proj", "ffn.ffn.0.linear_layer_for_glu", copy_scaled()},
                                 {"mlp.down_proj", "ffn.ffn.1.linear_layer", copy_scaled()}});
    r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
}

/// LlamaModel's rows with the CS head dropped, for models that hold a LLaMA below a prefix of
/// their own (llava's text_model).
inline std::shared_ptr<CheckpointRules> llama_model_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    add_llama_model_rows(*r);
    r->add({re(R"(lm_head\.(?:weight|bias))")}, drop_tensor());
    return r;
}

// ---- shapes ------------------------------------------------------------------------------------

/// The sizes of a LlamaModel config (0 where the config's value is bad).
struct LlamaSizes {
    int64_t hidden_size;
    int64_t layers;
};

/// Adds the LlamaModel shapes `hf_config` implies to `s` (nn.Linear weights [out, in]; keys with
/// or without `model.`): embeddings, attention, norms and head, and the dense feed-forward block
/// when `dense_mlp` (Mixtral has experts in its place).
inline LlamaSizes expect_llama_shapes(ModelShapes& s, ConstNode hf_config, bool dense_mlp)
{
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t kv = s.size("num_key_value_heads", "extra_attention_params.num_kv_groups", heads);
    const int64_t head_dim = s.size("head_dim", "head_dim", heads > 0 && d % heads == 0 ? d / heads : 0);
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    if (!hf_config["head_dim"].present())
        s.require_multiple("hidden_size", d, "num_attention_heads", heads);
    s.require_multiple("num_attention_heads", heads, "num_key_value_heads", kv);

    const std::string p = R"((?:model\.)?)";
    s.expect(p + R"(embed_tokens\.weight)", {vocab, d});
    s.expect(p + R"(norm\.weight)", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    const std::string l = p + R"(layers\.{layer}\.)";
    s.expect_layers(l + R"(self_attn\.q_proj\.weight)", layers, {heads * head_dim, d});
    s.expect_layers(l + R"(self_attn\.[kv]_proj\.weight)", layers, {kv * head_dim, d});
    s.expect_layers(l + R"(self_attn\.o_proj\.weight)", layers, {d, heads * head_dim});
    s.expect_layers(l + R"(self_attn\.q_proj\.bias)", layers, {heads * head_dim}, false);
    s.expect_layers(l + R"(self_attn\.[kv]_proj\.bias)", layers, {kv * head_dim}, false);
    s.expect_layers(l + R"(self_attn\.o_proj\.bias)", layers, {d}, false);
    if (dense_mlp) {
        const int64_t inter = s.size("intermediate_size", "filter_size");
        s.expect_layers(l + R"(mlp\.(?:gate|up)_proj\.weight)", layers, {inter, d});
        s.expect_layers(l + R"(mlp\.down_proj\.weight)", layers, {d, inter});
    }
    s.expect_layers(l + R"((?:input|post_attention)_layernorm\.weight)", layers, {d});
    return {d, layers};
}

// ---- the family --------------------------------------------------------------------------------

/// The DecoderFamily of a LLaMA-shaped HF model: `model_type` "llama", "mistral"; `display` as
/// the notes name it ("Llama"); the two HF classes. Its config table is LlamaStyleConfig
/// (sliding_window for mistral); `registry_name` defaults to model_type.
inline DecoderFamily llama_family(const std::string& model_type, const std::string& display,
                                  const std::string& hf_class, const std::string& hf_headless_class,
                                  bool headless, bool sliding_window = false)
{
    DecoderFamily f;
    f.hf_class = hf_class;
    f.hf_headless_class = hf_headless_class;
    f.cs_class = "GPT2LMHeadModel (configured as " + display + ")";
    f.registry_name = model_type;
    f.hf_base_prefix = "model.";
    f.hf_embedding = "embed_tokens.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = add_llama_model_rows;
    const std::string cls = headless ? hf_headless_class : hf_class;
    f.config = [model_type, cls, sliding_window] {
        return std::make_shared<LlamaStyleConfig>(model_type, cls, model_type, sliding_window);
    };
    f.shapes = [](ModelShapes& s, ConstNode hf) { expect_llama_shapes(s, hf, true); };
    return f;
}

} // namespace ckpt::sdk
