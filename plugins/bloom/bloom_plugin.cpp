// SPDX-License-Identifier: Apache-2.0
// BLOOM (`bloom`, `bloom-headless`) as a decoder table (spec/mappings.md §2.10): the fused
// `query_key_value` is per head `[heads, 3, head_dim]` with no rotary, the word embedding has its
// own LayerNorm (CS `embedding_ln_f`), and positions are ALiBi, whose slopes the CS model keeps
// as a tensor: generated on the way to CS (for any head count), dropped on the way back.
#include <ckptconv/cpp/alibi.hpp>
#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

const char* side_name(const ConfigContext& c) { return c.from == kHf ? "HF" : "CS"; }

/// BLOOM's MLP is always 4 * hidden_size wide.
ConfigAction assert_filter_size()
{
    return config_action("assert_filter_size", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (config_int(c.src, o, side_name(c)) != 4 * config_int(c.src, "hidden_size", side_name(c)))
            throw ConfigConversionError("HF model only supports filter_size = 4 * hidden_size");
    });
}

/// BLOOM's attention projects to hidden_size.
ConfigAction assert_attention_inner_dim()
{
    return config_action("assert_attention_inner_dim", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (!c.src[o].is_null() && config_int(c.src, o, side_name(c)) != config_int(c.src, "hidden_size", side_name(c)))
            throw ConfigConversionError("HF model only supports attention_inner_dim = hidden_size");
    });
}

/// ConfigConverter_BloomModel_HF_CS21 (the same table serves cs-2.1 ... cs-2.9; the only key a
/// later release adds, `name`, is the helper's).
std::shared_ptr<DecoderConfig> bloom_config()
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    t->rules.add({key("norm_type")}, assert_value(kCs, {"layernorm"}))
        .add({key("model_type")}, assert_value(kHf, {"bloom"}))
        .add({key("vocab_size")}, copy)
        .add({key("position_embedding_type")}, assert_value(kCs, {"alibi"}))
        .add({key("use_position_embedding")}, assert_value(kCs, {true}))
        .add({key("embedding_dropout_rate")}, assert_value(kCs, {0.0}))
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("embedding_layer_norm")}, assert_value(kCs, {true}))
        .add({key("hidden_size")}, copy)
        .add({eq("n_head", "num_heads")}, copy)
        .add({eq("n_layer", "num_hidden_layers")}, copy)
        .add({key("max_position_embeddings")}, ConfigAction{})
        .add({key("attention_type")}, assert_value(kCs, {"scaled_dot_product"}))
        .add({key("attention_module")}, assert_value(kCs, {"aiayn_attention"}))
        .add({key("attention_inner_dim")}, assert_attention_inner_dim())
        .add({key("use_rms_norm")}, assert_value(kCs, {false}))
        .add({key("use_projection_bias_in_attention")}, assert_value(kCs, {true}))
        .add({key("use_ffn_bias_in_attention")}, assert_value(kCs, {true}))
        .add({key("use_ffn_bias")}, assert_value(kCs, {true}))
        .add({key("filter_size")}, assert_filter_size())
        .add({key("nonlinearity")}, assert_value(kCs, {"gelu"}))
        .add({key("apply_residual_connection_post_layernorm")}, assert_value(kHf, {false}))
        .add({key("norm_first")}, assert_value(kCs, {true}))
        .add({eq("attention_dropout", "attention_dropout_rate")}, copy)
        .add({eq("hidden_dropout", "dropout_rate")}, copy)
        .add({key("layer_norm_epsilon")}, copy)
        .add({key("use_bias_in_output")}, assert_value(kCs, {false}))
        .add({key("initializer_range")}, copy)
        .add({key("fixed_sparse_attention")}, assert_value(kCs, {nullptr}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCs, {false}))
        .add({key("scale_attn_by_inverse_layer_idx")}, assert_value(kHf, {false}))
        .add({key("reorder_and_upcast_attn")}, assert_value(kHf, {false}))
        .add({key("alibi_trainable_slopes")}, assert_value(kCs, {false}));
    t->pre_defaults[kHf] = {{"tie_word_embeddings", true},  {"vocab_size", 250880},
                            {"hidden_size", 64},            {"n_layer", 2},
                            {"n_head", 8},                  {"layer_norm_epsilon", 1e-05},
                            {"initializer_range", 0.02},    {"apply_residual_connection_post_layernorm", false},
                            {"hidden_dropout", 0.0},        {"attention_dropout", 0.0}};
    t->pre_defaults[kCs] = {{"share_embedding_weights", true}, {"embedding_layer_norm", false}};
    t->post_defaults[kHf] = {{"model_type", "bloom"}};
    t->post_defaults[kCs] = {{"position_embedding_type", "alibi"},
                             {"use_ffn_bias_in_attention", true},
                             {"use_projection_bias_in_attention", true},
                             {"use_ffn_bias", true},
                             {"use_bias_in_output", false},
                             {"attention_type", "scaled_dot_product"},
                             {"embedding_layer_norm", true}};
    t->pre = [](ConfigContext& c, Node work) {
        if (c.from == kHf) {
            // BloomConfig's legacy spelling wins when set, as in transformers.
            if (work.has("n_embed") && !work["n_embed"].is_null())
                work.entry("hidden_size").assign(work["n_embed"]);
            return;
        }
        // The Model Zoo reads dropout_rate unconditionally (a KeyError without it); here the two
        // defaults are simply not taken then.
        if (!work.has("dropout_rate"))
            return;
        for (const char* k : {"embedding_dropout_rate", "attention_dropout_rate"})
            if (!work.has(k))
                work.entry(k).assign(work["dropout_rate"]);
    };
    t->post = [](ConfigContext& c) {
        if (c.from == kHf)
            c.dst.entry("filter_size").set(4 * config_int(c.dst, "hidden_size", "HF"));
    };
    return t;
}

/// One layer's query_key_value as the CS config describes it.
std::pair<FusedQkv, Rotary> bloom_qkv(const ConstNode&, const ConstNode& cs)
{
    const int64_t heads = config_int(cs, "num_heads", "CS");
    if (heads <= 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive, found " + std::to_string(heads));
    return {FusedQkv::per_head(heads, config_int(cs, "hidden_size", "CS") / heads), Rotary::none()};
}

/// The HF BloomModel tensor shapes (nn.Linear weights [out, in]); the MLP is 4 * hidden wide.
/// Absent sizes take BloomConfig's defaults, as the config conversion does.
void bloom_shapes(ModelShapes& s, ConstNode hf)
{
    const bool legacy = hf["n_embed"].present() && !hf["n_embed"].is_null();
    const int64_t d = s.size(legacy ? "n_embed" : "hidden_size", "hidden_size", 64);
    const int64_t layers = s.count("n_layer", "num_hidden_layers", 2);
    const int64_t vocab = s.size("vocab_size", "vocab_size", 250880);
    const int64_t heads = s.size("n_head", "num_heads", 8);
    s.require_multiple(legacy ? "n_embed" : "hidden_size", d, "n_head", heads);
    const std::string p = R"((?:transformer\.)?)";
    s.expect(p + R"(word_embeddings\.weight)", {vocab, d});
    s.expect(p + R"((?:word_embeddings_layernorm|ln_f)\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    const std::string h = p + R"(h\.{layer}\.)";
    s.expect_layers(h + R"(self_attention\.query_key_value\.weight)", layers, {3 * d, d});
    s.expect_layers(h + R"(self_attention\.query_key_value\.bias)", layers, {3 * d});
    s.expect_layers(h + R"(self_attention\.dense\.weight)", layers, {d, d});
    s.expect_layers(h + R"(self_attention\.dense\.bias)", layers, {d});
    s.expect_layers(h + R"((?:input|post_attention)_layernorm\.(?:weight|bias))", layers, {d});
    s.expect_layers(h + R"(mlp\.dense_h_to_4h\.weight)", layers, {4 * d, d});
    s.expect_layers(h + R"(mlp\.dense_h_to_4h\.bias)", layers, {4 * d});
    s.expect_layers(h + R"(mlp\.dense_4h_to_h\.weight)", layers, {d, 4 * d});
    s.expect_layers(h + R"(mlp\.dense_4h_to_h\.bias)", layers, {d});
}

DecoderFamily bloom()
{
    DecoderFamily f;
    f.hf_class = "BloomForCausalLM";
    f.hf_headless_class = "BloomModel";
    f.cs_class = "GPT2LMHeadModel (configured as bloom)";
    f.registry_name = "bloom";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "word_embeddings.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = [](CheckpointRules& r) {
        r.add({re(R"(embedding_layer\.position_embed_helper\.slopes)")}, drop_tensor());
        add_rows(r, {{"word_embeddings", "embedding_layer.word_embeddings", copy_scaled()},
                     {"word_embeddings_layernorm", "embedding_ln_f", copy_scaled()}});
        add_layer_rows(r, "h",
                       {{"self_attention.dense", "self_attn.proj_output_dense_layer", copy_scaled()},
                        {"self_attention.query_key_value", "self_attn.proj_q_dense_layer", fused_qkv_action(bloom_qkv)},
                        {"self_attention.query_key_value", "self_attn.proj_k_dense_layer", qkv_sibling()},
                        {"self_attention.query_key_value", "self_attn.proj_v_dense_layer", qkv_sibling()},
                        {"input_layernorm", "norm1", copy_scaled()},
                        {"post_attention_layernorm", "norm3", copy_scaled()},
                        {"mlp.dense_h_to_4h", "ffn.ffn.0.linear_layer", copy_scaled()},
                        {"mlp.dense_4h_to_h", "ffn.ffn.1.linear_layer", copy_scaled()}});
        add_rows(r, {{"ln_f", "transformer_decoder.norm", final_norm()}});
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
        r.add({re(R"(relative_pe_helper\.slopes)")}, drop_tensor());
    };
    f.config = bloom_config;
    f.shapes = bloom_shapes;
    // The CS model reads its ALiBi slopes from the checkpoint; HF BLOOM computes them.
    f.after_rules = [](CheckpointContext& c, bool) {
        if (c.from == kHf)
            add_cs_alibi_slopes(c.plan, c.req.tgt_fmt, c.config[kCs]);
    };
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("bloom", "1.0", "BLOOM (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = bloom();
    const auto formats = cs_formats({2, 1});
    def.model("bloom")
        .add(std::make_shared<DecoderCs19Cs20>(std::vector<std::string>{"cs-1.9"},
                                               "GPT2LMHeadModel class (configured as bloom)", "use_rms_norm", "rmsnorm"))
        .add(std::make_shared<DecoderCs20Cs21>("GPT2LMHeadModel class (configured as Bloom)"))
        .add(std::make_shared<DecoderHfCs>(fam, false, formats, true));
    def.model("bloom-headless").registry_name("bloom").add(std::make_shared<DecoderHfCs>(fam, true, formats, false));
}
