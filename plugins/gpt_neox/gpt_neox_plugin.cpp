// SPDX-License-Identifier: Apache-2.0
// GPT-NeoX (`gpt-neox`, `gpt-neox-headless`) as a decoder table (spec/mappings.md §2.7): the
// fused `query_key_value` is per head `[heads, 3, head_dim]`, q and k are interleaved over the
// partial rotary_dim = rotary_pct * head_dim; the config is ConfigConverter_GPT_Neox_HF_CS21,
// whose assertions refuse what CS's NeoX cannot express (sequential residual, another rotary base).
#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

/// HF rotary_pct (a fraction of the head) <-> CS rotary_dim (rows of the head).
ConfigAction rotary_dim_converter()
{
    return config_action("rotary_dim_converter", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const bool hf = c.from == kHf;
        const int64_t heads = config_int(c.src, hf ? "num_attention_heads" : "num_heads", hf ? "HF" : "CS");
        if (heads <= 0)
            throw ConfigConversionError("the number of attention heads must be positive, found " + std::to_string(heads));
        const int64_t head_dim = config_int(c.src, "hidden_size", hf ? "HF" : "CS") / heads;
        if (hf)
            c.dst.entry(n).set(static_cast<int64_t>(static_cast<double>(head_dim) * config_float_or(c.src, o, 0.0, "HF")));
        else
            c.dst.entry(n).set(static_cast<double>(config_int(c.src, o, "CS")) / static_cast<double>(head_dim));
    });
}

std::shared_ptr<DecoderConfig> neox_config()
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    // Release tags: pos_scaling_factor from 2.1 (this converter's first release);
    // pos_scaling_type / pos_scaling_extra_args from 2.4 (the gates below).
    t->rules.add({eq("rope_scaling", "pos_scaling_factor")}, convert_rope_scaling())
        .add({eq("", "pos_scaling_extra_args")}, ConfigAction{})
        .add({eq("", "pos_scaling_type")}, ConfigAction{})
        .add({key("norm_type")}, assert_value(kCs, {"layernorm"}))
        .add({key("model_type")}, assert_value(kHf, {"gpt_neox"}))
        .add({key("vocab_size")}, copy)
        .add({eq("rotary", "position_embedding_type")}, assert_value(kCs, {"rotary"}))
        .add({key("use_position_embedding")}, assert_value(kCs, {true}))
        .add({key("embedding_dropout_rate")}, assert_value(kCs, {0.0}))
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("hidden_size")}, copy)
        .add({eq("num_attention_heads", "num_heads")}, copy)
        .add({key("num_hidden_layers")}, copy)
        .add({key("max_position_embeddings")}, copy)
        .add({key("scale_attn_weights")}, assert_value(kHf, {true}))
        .add({key("attention_type")}, assert_value(kCs, {"scaled_dot_product"}))
        .add({key("use_projection_bias_in_attention")}, assert_value(kCs, {true}))
        .add({key("use_ffn_bias_in_attention")}, assert_value(kCs, {true}))
        .add({key("use_ffn_bias")}, assert_value(kCs, {true}))
        .add({eq("intermediate_size", "filter_size")}, copy)
        .add({eq("hidden_act", "nonlinearity")}, copy)
        .add({eq("layer_norm_eps", "layer_norm_epsilon")}, copy)
        .add({eq("attention_dropout", "attention_dropout_rate")}, copy)
        .add({eq("hidden_dropout", "residual_dropout_rate")}, copy)
        .add({eq("rotary_pct", "rotary_dim")}, rotary_dim_converter())
        .add({key("rotary_emb_base")}, assert_value(kHf, {10000}))
        .add({key("use_bias_in_output")}, assert_value(kCs, {false}))
        .add({key("use_parallel_residual")}, assert_value(kHf, {true}))
        .add({key("initializer_range")}, copy)
        .add({key("embedding_layer_norm")}, assert_value(kCs, {false}))
        .add({key("fixed_sparse_attention")}, assert_value(kCs, {nullptr}))
        .add({key("norm_first")}, assert_value(kCs, {true}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCs, {false}))
        .add({key("use_untied_layer_norm")}, assert_value(kCs, {true}));
    t->pre_defaults[kHf] = {{"vocab_size", 50432},        {"hidden_size", 6144},        {"num_hidden_layers", 44},
                            {"num_attention_heads", 64},  {"intermediate_size", 24576}, {"hidden_act", "gelu"},
                            {"rotary_pct", 0.25},         {"rotary_emb_base", 10000},   {"max_position_embeddings", 2048},
                            {"initializer_range", 0.02},  {"layer_norm_eps", 1e-05},    {"tie_word_embeddings", false},
                            {"use_parallel_residual", true}, {"rope_scaling", nullptr}};
    t->pre_defaults[kCs] = gptj_model_cs_defaults();
    t->pre_defaults[kCs].emplace_back("pos_scaling_factor", 1.0);
    t->gates = rope_scaling_gates();
    t->post_defaults[kHf] = {{"rotary_pct", 1.0}, {"rotary_emb_base", 10000}, {"model_type", "gpt_neox"}};
    t->post_defaults[kCs] = {{"attention_type", "scaled_dot_product"},
                             {"use_untied_layer_norm", true},
                             {"use_projection_bias_in_attention", true},
                             {"use_ffn_bias_in_attention", true},
                             {"use_ffn_bias", true},
                             {"use_bias_in_output", false},
                             {"embedding_dropout_rate", 0.0},
                             {"residual_dropout_rate", 0.0},
                             {"attention_dropout_rate", 0.0}};
    return t;
}

/// One layer's query_key_value as the CS config describes it.
std::pair<FusedQkv, Rotary> neox_qkv(const ConstNode&, const ConstNode& cs)
{
    const int64_t heads = config_int(cs, "num_heads", "CS");
    if (heads <= 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive, found " + std::to_string(heads));
    const int64_t head_dim = config_int(cs, "hidden_size", "CS") / heads;
    return {FusedQkv::per_head(heads, head_dim), Rotary{head_dim, config_int(cs, "rotary_dim", "CS")}};
}

/// The HF GPTNeoXModel tensor shapes (nn.Linear weights [out, in]).
void neox_shapes(ModelShapes& s, ConstNode)
{
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t inter = s.size("intermediate_size", "filter_size");
    s.require_multiple("hidden_size", d, "num_attention_heads", heads);
    const std::string p = R"((?:gpt_neox\.)?)";
    s.expect(p + R"(embed_in\.weight)", {vocab, d});
    s.expect(p + R"(final_layer_norm\.(?:weight|bias))", {d});
    s.expect(R"(embed_out\.weight)", {vocab, d}, false);
    const std::string l = p + R"(layers\.{layer}\.)";
    s.expect_layers(l + R"(attention\.query_key_value\.weight)", layers, {3 * d, d});
    s.expect_layers(l + R"(attention\.query_key_value\.bias)", layers, {3 * d});
    s.expect_layers(l + R"(attention\.dense\.weight)", layers, {d, d});
    s.expect_layers(l + R"(attention\.dense\.bias)", layers, {d});
    s.expect_layers(l + R"((?:input|post_attention)_layernorm\.(?:weight|bias))", layers, {d});
    s.expect_layers(l + R"(mlp\.dense_h_to_4h\.weight)", layers, {inter, d});
    s.expect_layers(l + R"(mlp\.dense_h_to_4h\.bias)", layers, {inter});
    s.expect_layers(l + R"(mlp\.dense_4h_to_h\.weight)", layers, {d, inter});
    s.expect_layers(l + R"(mlp\.dense_4h_to_h\.bias)", layers, {d});
}

DecoderFamily neox()
{
    DecoderFamily f;
    f.hf_class = "GPTNeoXForCausalLM";
    f.hf_headless_class = "GPTNeoXModel";
    f.cs_class = "GPTJModel (configured as neox)";
    f.registry_name = "gpt-neox";
    f.hf_base_prefix = "gpt_neox.";
    f.hf_embedding = "embed_in.weight";
    f.head_rows = {{"embed_out", "lm_head", copy_scaled()}};
    f.base_rules = [](CheckpointRules& r) {
        add_rows(r, {{"embed_in", "embedding_layer.word_embeddings", copy_scaled()},
                     {"final_layer_norm", "transformer_decoder.norm", final_norm()}});
        add_layer_rows(r, "layers",
                       {{"attention.dense", "self_attn.proj_output_dense_layer", copy_scaled()},
                        {"attention.query_key_value", "self_attn.proj_q_dense_layer", fused_qkv_action(neox_qkv)},
                        {"attention.query_key_value", "self_attn.proj_k_dense_layer", qkv_sibling()},
                        {"attention.query_key_value", "self_attn.proj_v_dense_layer", qkv_sibling()},
                        {"input_layernorm", "norm1", copy_scaled()},
                        {"post_attention_layernorm", "norm3", copy_scaled()},
                        {"mlp.dense_h_to_4h", "ffn.ffn.0.linear_layer", copy_scaled()},
                        {"mlp.dense_4h_to_h", "ffn.ffn.1.linear_layer", copy_scaled()}});
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
        r.add({re(R"(layers\.\d+\.attention\.(?:rotary_emb\.inv_freq|masked_bias|bias))")}, drop_tensor());
    };
    f.config = neox_config;
    f.shapes = neox_shapes;
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("gpt_neox", "1.0", "GPT-NeoX (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = neox();
    const auto formats = cs_formats({2, 1});
    def.model("gpt-neox")
        .add(std::make_shared<DecoderCs19Cs20>(std::vector<std::string>{"cs-1.8", "cs-1.9"},
                                               "GPTJModel (configured as neox)", "use_biasless_norm",
                                               "biasless-layernorm"))
        .add(std::make_shared<DecoderCs20Cs21>("GPTJLMHeadModel class (configured as GPT-NeoX)"))
        .add(std::make_shared<DecoderHfCs>(fam, false, formats, false, " with LM head"));
    def.model("gpt-neox-headless")
        .registry_name("gpt-neox")
        .add(std::make_shared<DecoderHfCs>(fam, true, formats, false));
}
