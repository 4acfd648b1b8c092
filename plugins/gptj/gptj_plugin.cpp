// SPDX-License-Identifier: Apache-2.0
// The CS GPTJModel families as decoder tables: GPT-J (`gptj`, `gptj-headless`; spec/mappings.md
// §2.6) and CodeGen (`codegen`, `codegen-headless`; §2.12), which the Model Zoo also builds as a
// GPTJModel (registry name `gptj`). Both store the interleaved rotary layout already, so their
// tensors are renames but for CodeGen's fused qkv_proj; their config tables differ in a few rows.
#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

/// HF `rotary` (a flag) <-> CS `position_embedding_type` (must be rotary).
ConfigAction convert_position_embedding_type()
{
    return config_action("convert_position_embedding_type", [](ConfigContext& c, const std::string& o,
                                                                const std::string& n) {
        const Value v = Value::read(c.src[o]);
        if (c.from == kHf) {
            if (v != Value(true))
                throw ConfigConversionError("HF GPT-J must use rotary embeddings, but got " + o + "=" + v.str());
            c.dst.entry(n).set("rotary");
        } else {
            if (v != Value("rotary"))
                throw ConfigConversionError("CS GPT-J must use rotary embeddings, but got " + o + "=" + v.str());
            c.dst.entry(n).set(true);
        }
    });
}

/// ConfigConverter_GPTJModel_HF_CS20/_CS23 (`codegen` false) or
/// ConfigConverter_Codegen_Model_HF_CS20 (`codegen` true).
std::shared_ptr<DecoderConfig> gptj_style_config(bool codegen)
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    const std::string name = codegen ? "codegen" : "gptj";
    t->rules.add({key("norm_type")}, assert_value(kCs, {"layernorm"}))
        .add({key("model_type")}, assert_value(kHf, {Value(name)}))
        .add({key("vocab_size")}, copy)
        .add({key("rotary_dim")}, copy);
    if (codegen)
        t->rules.add({key("position_embedding_type")}, assert_value(kCs, {"rotary"}));
    else
        t->rules.add({eq("rotary", "position_embedding_type")}, convert_position_embedding_type());
    t->rules.add({key("use_position_embedding")}, assert_value(kCs, {true}))
        .add({eq("embd_pdrop", "embedding_dropout_rate")}, copy)
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({eq("n_embd", "hidden_size")}, copy)
        .add({eq("n_head", "num_heads")}, copy)
        .add({eq("n_layer", "num_hidden_layers")}, copy)
        .add({eq("n_positions", "max_position_embeddings")}, copy)
        .add({key("scale_attn_weights")}, assert_value(kHf, {true}))
        .add({key("attention_type")}, assert_value(kCs, {"scaled_dot_product"}))
        .add({key("use_projection_bias_in_attention")}, assert_value(kCs, {false}))
        .add({key("use_ffn_bias_in_attention")}, assert_value(kCs, {false}))
        .add({key("use_ffn_bias")}, assert_value(kCs, {true}))
        .add({key("use_bias_in_output")}, codegen ? assert_value(kCs, {true}) : copy)
        .add({eq("n_inner", "filter_size")}, copy)
        .add({eq("activation_function", "nonlinearity")}, copy)
        .add({eq("attn_pdrop", "attention_dropout_rate")}, copy)
        .add({eq("resid_pdrop", "residual_dropout_rate")}, copy)
        .add({key("layer_norm_epsilon")}, copy)
        .add({key("initializer_range")}, copy)
        .add({key("embedding_layer_norm")}, assert_value(kCs, {false}))
        .add({key("fixed_sparse_attention")}, assert_value(kCs, {nullptr}))
        .add({key("norm_first")}, assert_value(kCs, {true}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCs, {false}))
        .add({key("use_untied_layer_norm")}, assert_value(kCs, {false}));
    const double dropout = codegen ? 0.0 : 0.1;
    t->pre_defaults[kHf] = {{"vocab_size", 50400},     {"n_positions", 2048},       {"n_embd", 4096},
                            {"n_layer", 28},           {"n_head", 16},              {"rotary_dim", 64},
                            {"activation_function", "gelu_new"}, {"resid_pdrop", dropout}, {"embd_pdrop", dropout},
                            {"attn_pdrop", dropout},       {"initializer_range", 0.02}, {"layer_norm_epsilon", 1e-05},
                            {"tie_word_embeddings", false}};
    t->pre_defaults[kCs] = gptj_model_cs_defaults();
    t->post_defaults[kHf] = {{"model_type", Value(name)}};
    t->post_defaults[kCs] = {{"use_untied_layer_norm", false},
                             {"use_ffn_bias_in_attention", false},
                             {"use_projection_bias_in_attention", false},
                             {"use_ffn_bias", true},
                             {"use_bias_in_output", true},
                             {"attention_type", "scaled_dot_product"}};
    t->pre = [codegen](ConfigContext& c, Node work) {
        // transformers' GPTJConfig / CodeGenConfig: n_inner None means 4 * n_embd.
        if (c.from == kHf && (!work.has("n_inner") || work["n_inner"].is_null()))
            work.entry("n_inner").set(4 * config_int(work, "n_embd", "HF"));
        const bool hf = c.from == kHf;
        if (codegen && config_int(work, hf ? "n_head" : "num_heads", hf ? "HF" : "CS") < 4)
            throw ConfigConversionError("HF Model doesn't support n_head < 4 because of hardcoded TPU constraint");
    };
    return t;
}

/// CodeGen's qkv_proj `[3d, d]`: mp_num = 4 blocks of (q, v, k), d/4 rows each; no bias.
CheckpointAction codegen_qkv()
{
    const CheckpointAction fused = fused_qkv_action([](const ConstNode&, const ConstNode& cs) {
        return std::make_pair(FusedQkv::blocked(4, {FusedQkv::q, FusedQkv::v, FusedQkv::k},
                                                config_int(cs, "hidden_size", "CS")),
                              Rotary::none());
    });
    return {fused.name, [fused](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (o.size() >= 5 && o.compare(o.size() - 5, 5, ".bias") == 0)
                    throw ConfigConversionError("Codegen model doesn't support bias with attention projection (" + o + ")");
                fused.fn(c, o, n);
            }};
}

/// The HF GPTJModel / CodeGenModel tensor shapes (nn.Linear weights [out, in]).
void gptj_style_shapes(ModelShapes& s, bool codegen)
{
    const int64_t d = s.size("n_embd", "hidden_size");
    const int64_t layers = s.count("n_layer", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t heads = s.size("n_head", "num_heads");
    const int64_t inner = s.size("n_inner", "filter_size", d > 0 ? 4 * d : 0);
    s.require_multiple("n_embd", d, "n_head", heads);
    const std::string p = R"((?:transformer\.)?)";
    s.expect(p + R"(wte\.weight)", {vocab, d});
    s.expect(p + R"(ln_f\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    s.expect(R"(lm_head\.bias)", {vocab}, false);
    const std::string h = p + R"(h\.{layer}\.)";
    if (codegen)
        s.expect_layers(h + R"(attn\.qkv_proj\.weight)", layers, {3 * d, d});
    else
        s.expect_layers(h + R"(attn\.[qkv]_proj\.weight)", layers, {d, d});
    s.expect_layers(h + R"(attn\.out_proj\.weight)", layers, {d, d});
    s.expect_layers(h + R"(ln_1\.(?:weight|bias))", layers, {d});
    s.expect_layers(h + R"(mlp\.fc_in\.weight)", layers, {inner, d});
    s.expect_layers(h + R"(mlp\.fc_in\.bias)", layers, {inner});
    s.expect_layers(h + R"(mlp\.fc_out\.weight)", layers, {d, inner});
    s.expect_layers(h + R"(mlp\.fc_out\.bias)", layers, {d});
}

/// GPT-J (`codegen` false) or CodeGen.
DecoderFamily gptj_style(bool codegen)
{
    DecoderFamily f;
    f.hf_class = codegen ? "CodeGenForCausalLM" : "GPTJForCausalLM";
    f.hf_headless_class = codegen ? "CodeGenModel" : "GPTJModel";
    f.cs_class = codegen ? "GPTJModel (configured as codegen)" : "GPTJModel(with head)";
    f.registry_name = "gptj";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = [codegen](CheckpointRules& r) {
        add_rows(r, {{"wte", "embedding_layer.word_embeddings", copy_scaled()},
                     {"ln_f", "transformer_decoder.norm", final_norm()}});
        if (codegen)
            add_layer_rows(r, "h",
                           {{"attn.qkv_proj", "self_attn.proj_q_dense_layer", codegen_qkv()},
                            {"attn.qkv_proj", "self_attn.proj_k_dense_layer", qkv_sibling()},
                            {"attn.qkv_proj", "self_attn.proj_v_dense_layer", qkv_sibling()}});
        else
            add_layer_rows(r, "h",
                           {{"attn.q_proj", "self_attn.proj_q_dense_layer", copy_scaled()},
                            {"attn.k_proj", "self_attn.proj_k_dense_layer", copy_scaled()},
                            {"attn.v_proj", "self_attn.proj_v_dense_layer", copy_scaled()}});
        add_layer_rows(r, "h",
                       {{"attn.out_proj", "self_attn.proj_output_dense_layer", copy_scaled()},
                        {"ln_1", "norm1", copy_scaled()},
                        {"mlp.fc_in", "ffn.ffn.0.linear_layer", copy_scaled()},
                        {"mlp.fc_out", "ffn.ffn.1.linear_layer", copy_scaled()}});
        // GPT-J has one norm per block: an untied CS norm3 has nowhere to go.
        if (!codegen)
            r.add({re(R"(transformer_decoder\.layers\.\d+\.norm3)"), weight_or_bias()},
                  refuse_cs_tensor("GPT-J has one layer norm per block (use_untied_layer_norm must be False)"));
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
        r.add({re(codegen ? R"(h\.\d+\.attn\.(?:masked_bias|bias|causal_mask))" : R"(h\.\d+\.attn\.(?:masked_bias|bias))")},
              drop_tensor());
    };
    f.config = [codegen] { return gptj_style_config(codegen); };
    f.shapes = [codegen](ModelShapes& s, ConstNode) { gptj_style_shapes(s, codegen); };
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("gptj", "1.0", "GPT-J and CodeGen (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = gptj_style(false);
    const auto cs20 = cs_formats({2, 0}, {2, 2});
    const auto cs23 = cs_formats({2, 3});
    def.model("gptj")
        .add(std::make_shared<DecoderCs19Cs20>(std::vector<std::string>{"cs-1.8", "cs-1.9"},
                                               "cs-1.8, cs-1.9 <-> cs-2.0 GPTJModel", "use_biasless_norm",
                                               "biasless-layernorm"))
        .add(std::make_shared<DecoderCs20Cs21>("GPTJLMHeadModel class"))
        .add(std::make_shared<DecoderHfCs>(fam, false, cs20, false))
        .add(std::make_shared<DecoderHfCs>(fam, false, cs23, true));
    def.model("gptj-headless")
        .registry_name("gptj")
        .add(std::make_shared<DecoderHfCs>(fam, true, cs20, false))
        .add(std::make_shared<DecoderHfCs>(fam, true, cs23, true));

    // CodeGen: one HF converter for cs-2.0 ... cs-2.9, without muP support.
    const DecoderFamily cg = gptj_style(true);
    const auto cs20_up = cs_formats({2, 0});
    def.model("codegen")
        .registry_name("gptj")
        .add(std::make_shared<DecoderCs19Cs20>(std::vector<std::string>{"cs-1.8", "cs-1.9"},
                                               "GPTJModel (configured as codegen)", "use_biasless_norm",
                                               "biasless-layernorm"))
        .add(std::make_shared<DecoderCs20Cs21>("GPTJLMHeadModel class (configured as codegen)"))
        .add(std::make_shared<DecoderHfCs>(cg, false, cs20_up, false));
    def.model("codegen-headless").registry_name("gptj").add(std::make_shared<DecoderHfCs>(cg, true, cs20_up, false));
}
