// SPDX-License-Identifier: Apache-2.0
// StarCoder (`starcoder`, `starcoder-headless`; aliases octocoder, wizardcoder, sqlcoder) as a
// decoder table (spec/mappings.md §2.13): HF GPTBigCode <-> CS GPT2LMHeadModel configured as
// StarCoder. nn.Linear layers (no transposes), learned positions, and a fused `c_attn` that is
// multi-query (`[d + 2 * head_dim, d]`: q | k | v) or, without `multi_query`, per head.
#include <ckptconv/cpp/gpt2_style.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

/// GPT-2's attention_type rule, plus what StarCoder derives from `multi_query`: the CS attention
/// module (multi-query is one kv group) and, back to HF, `multi_query` from that module.
ConfigAction convert_attention_type_and_module()
{
    const ConfigAction base = convert_attention_type();
    return config_action(base.name, [base](ConfigContext& c, const std::string& o, const std::string& n) {
        base.fn(c, o, n);
        if (c.from == kCs) {
            c.dst.entry("multi_query").set(config_string_or(c.src, "attention_module", "", "CS") == "multiquery_attention");
            return;
        }
        const bool multi_query = config_flag_or(c.src, "multi_query", true, "HF");
        c.dst.entry("attention_module").set(multi_query ? "multiquery_attention" : "aiayn_attention");
        if (multi_query) {
            Node extra = c.dst.entry("extra_attention_params");
            extra.make_map();
            extra.entry("num_kv_groups").set(1);
        }
    });
}

/// ConfigConverter_StarcoderModel_HF_CS21 (the same table from Release 2.1 to 2.10; every key it
/// writes is known from cs-2.1, its oldest target, but `name`).
std::shared_ptr<DecoderConfig> starcoder_config()
{
    auto t = std::make_shared<DecoderConfig>();
    add_gpt2_config_rows(t->rules, "gpt_bigcode", convert_attention_type_and_module(), false);
    t->rules.add({eq("attention_softmax_in_fp32", "attention_softmax_fp32")}, rename_key())
        .add({key("scale_qk_dot_by_layer_idx")}, assert_value(kCs, {false}));
    t->pre_defaults[kHf] = {{"tie_word_embeddings", true}, {"multi_query", true}, {"attn_pdrop", 0.0},
                            {"scale_attn_weights", true},  {"resid_pdrop", 0.0},  {"embd_pdrop", 0.0},
                            {"n_inner", 24576},            {"n_embd", 6144},      {"n_head", 48},
                            {"n_layer", 40},               {"vocab_size", 49152}, {"n_positions", 8192}};
    t->pre_defaults[kCs] = {{"share_embedding_weights", true},
                            {"attention_dropout_rate", 0.0},
                            {"attention_module", "multiquery_attention"},
                            {"attention_type", "scaled_dot_product"},
                            {"scale_qk_dot_by_layer_idx", false},
                            {"dropout_rate", 0.0},
                            {"embedding_dropout_rate", 0.0},
                            {"filter_size", 24576},
                            {"hidden_size", 6144},
                            {"max_position_embeddings", 8192},
                            {"num_heads", 48},
                            {"num_hidden_layers", 40},
                            {"vocab_size", 49152}};
    t->post_defaults[kHf] = {{"model_type", "gpt_bigcode"},
                             {"architectures", Value::list({Value("GPTBigCodeForCausalLM")})},
                             {"validate_runner_input", true},
                             {"use_cache", true},
                             {"transformers_version", "4.28.1"},
                             {"summary_use_proj", true},
                             {"summary_type", "cls_index"},
                             {"inference_runner", 0},
                             {"eos_token_id", 0},
                             {"bos_token_id", 0},
                             {"max_sequence_length", nullptr},
                             {"max_batch_size", nullptr}};
    t->post_defaults[kCs] = {{"position_embedding_type", "learned"}, {"use_projection_bias_in_attention", true},
                             {"use_ffn_bias_in_attention", true},     {"use_ffn_bias", true},
                             {"nonlinearity", "gelu"},                {"use_bias_in_output", false},
                             {"loss_scaling", "num_tokens"}};
    t->gates = {registry_name_gate()};
    t->pre = gpt2_config_pre;
    return t;
}

/// `c_attn` as the CS config describes it: multi-query (one k and one v head after all q heads)
/// or multi-head (per head q, k, v).
std::pair<FusedQkv, Rotary> starcoder_qkv(const ConstNode&, const ConstNode& cs)
{
    const int64_t heads = config_int(cs, "num_heads", "CS");
    const int64_t hidden = config_int(cs, "hidden_size", "CS");
    if (heads <= 0 || hidden % heads != 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: hidden_size " + std::to_string(hidden) +
                                                   " does not split into num_heads " + std::to_string(heads) + " heads");
    const bool multi_query =
        config_string_or(cs, "attention_module", "multiquery_attention", "CS") == "multiquery_attention";
    return {multi_query ? FusedQkv::grouped(heads, 1, hidden / heads) : FusedQkv::per_head(heads, hidden / heads),
            Rotary::none()};
}

/// The HF GPTBigCode tensor shapes (nn.Linear, `[out, in]`): `c_attn` holds all query heads and
/// one k and one v head (multi-query) or three per head.
void starcoder_shapes(ModelShapes& s, ConstNode hf)
{
    const Gpt2BaseShapes g = add_gpt2_base_shapes(s, false);
    const int64_t rows = config_flag_or(hf, "multi_query", true, "HF") ? g.hidden + 2 * g.head_dim() : 3 * g.hidden;
    s.expect_layers(g.layer + R"(attn\.c_attn\.weight)", g.layers, {rows, g.hidden});
    s.expect_layers(g.layer + R"(attn\.c_attn\.bias)", g.layers, {rows});
}

DecoderFamily starcoder()
{
    DecoderFamily f;
    f.hf_class = "GPTBigCodeForCausalLM";
    f.hf_headless_class = "GPTBigCodeModel";
    f.cs_class = "GPT2ForCausalLM (configured as Starcoder)";
    f.registry_name = "starcoder";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = [](CheckpointRules& r) {
        add_gpt2_base_rows(r, copy_scaled(),
                           {{"attn.c_attn", "self_attn.proj_q_dense_layer", fused_qkv_action(starcoder_qkv)},
                            {"attn.c_attn", "self_attn.proj_k_dense_layer", qkv_sibling()},
                            {"attn.c_attn", "self_attn.proj_v_dense_layer", qkv_sibling()}});
    };
    f.config = starcoder_config;
    f.shapes = starcoder_shapes;
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("starcoder", "1.0", "StarCoder and its fine-tunes (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = starcoder();
    const auto formats = cs_formats({2, 1});
    // One converter list for the model and its aliases, as the Model Zoo's registry shares it.
    def.model("starcoder", {"octocoder", "sqlcoder", "wizardcoder"})
        .add(std::make_shared<DecoderHfCs>(fam, false, formats, true))
        .add(std::make_shared<DecoderCs20Cs21>("GPT2LMHeadModel class (configured as Starcoder)"));
    def.model("starcoder-headless", {"octocoder-headless", "sqlcoder-headless", "wizardcoder-headless"})
        .registry_name("starcoder")
        .add(std::make_shared<DecoderHfCs>(fam, true, formats, true));
}
