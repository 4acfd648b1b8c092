// SPDX-License-Identifier: Apache-2.0
// Falcon (`falcon`, `falcon-headless`) as a decoder table (spec/mappings.md §2.8), the Model Zoo's
// 180B-style converter (FalconForCausalLM, model_type falcon) that serves every CS -> HF
// conversion: fused `query_key_value` per kv group (`[groups, heads/groups + 2, head_dim]`;
// multi-query is one group), the full-head rotary interleave, parallel attention's norms, and
// the refusals (ALiBi, sequential attention, grouped query without untied norms).
#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

bool flag(const ConstNode& c, const char* key) { return config_flag_or(c, key, false, "HF"); }

/// HF `alibi` (a flag) <-> CS `position_embedding_type` (rotary only).
ConfigAction convert_position_embedding_type()
{
    return config_action("convert_position_embedding_type", [](ConfigContext& c, const std::string& o,
                                                                const std::string& n) {
        if (c.from == kHf) {
            if (Value::read(c.src[o]) == Value(true))
                throw ConfigConversionError("CS model doesn't support falcon with position_embedding_type = alibi");
            c.dst.entry(n).set("rotary");
            return;
        }
        const Value v = Value::read(c.src[o]);
        if (v != Value("rotary"))
            throw ConfigConversionError("HF model doesn't support falcon with position_embedding_type = " + v.str());
        c.dst.entry(n).set(false);
    });
}

/// hidden_size; the CS filter_size is always 4 * hidden_size in Falcon.
ConfigAction convert_hidden_size()
{
    return config_action("convert_hidden_size", [](ConfigContext& c, const std::string& o, const std::string& n) {
        c.dst.entry(n).assign(c.src[o]);
        const int64_t hidden = config_int(c.src, o, c.from == kHf ? "HF" : "CS");
        if (c.from == kHf)
            c.dst.entry("filter_size").set(4 * hidden);
        else if (config_int(c.src, "filter_size", "CS") != 4 * hidden)
            throw ConfigConversionError("HF model only supports filter_size = 4 * hidden_size");
    });
}

/// HF num_kv_heads <-> CS extra_attention_params.num_kv_groups (multi-query: 1; the old
/// architecture without multi-query: one group per head).
ConfigAction convert_num_head_groups()
{
    return config_action("convert_num_head_groups", [](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kCs) {
            c.dst.entry(n).assign(c.src[o]["num_kv_groups"]);
            return;
        }
        Node extra = c.dst.entry(n);
        extra.make_map();
        if (!flag(c.src, "new_decoder_architecture"))
            extra.entry("num_kv_groups").set(flag(c.src, "multi_query") ? 1 : config_int(c.src, "num_attention_heads", "HF"));
        else
            extra.entry("num_kv_groups").assign(c.src[o]);
    });
}

/// HF `bias` <-> the three CS bias flags, which must agree to go back.
ConfigAction convert_bias()
{
    return config_action("convert_bias", [](ConfigContext& c, const std::string& o, const std::string& n) {
        static const char* const kFlags[] = {"use_projection_bias_in_attention", "use_ffn_bias_in_attention", "use_ffn_bias"};
        if (c.from == kHf) {
            for (const char* f : kFlags)
                c.dst.entry(f).assign(c.src[o]);
            return;
        }
        for (const char* f : kFlags)
            if (Value::read(c.src[f]) != Value::read(c.src[kFlags[0]]))
                throw ConfigConversionError("All of the following CS parameters must be set the same in order to convert "
                                            "to HF: use_projection_bias_in_attention, use_ffn_bias_in_attention, "
                                            "use_ffn_bias");
        c.dst.entry(n).assign(c.src[o]);
    });
}

/// HF-only architecture flags: one of new_decoder_architecture and parallel_attn must hold.
ConfigAction assert_new_decoder_arch_and_parallel()
{
    return config_action("assert_new_decoder_arch_and_parallel", [](ConfigContext& c, const std::string& o,
                                                                    const std::string&) {
        if (c.from != kHf)
            throw ConfigConversionError("'" + o + "' should only be HF config");
        if (!flag(c.src, "new_decoder_architecture") && !flag(c.src, "parallel_attn"))
            throw ConfigConversionError("HF config must have either new_decoder_architecture or parallel_attn as True");
    });
}

/// HF multi_query (old architecture) means one kv group.
ConfigAction convert_multi_query()
{
    return config_action("convert_multi_query", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from != kHf)
            throw ConfigConversionError("'" + o + "' should only be HF config");
        if (!flag(c.src, "new_decoder_architecture") && flag(c.src, "multi_query")) {
            Node extra = c.dst.entry("extra_attention_params");
            extra.make_map();
            extra.entry("num_kv_groups").set(1);
        }
    });
}

void post_convert(ConfigContext& c)
{
    if (c.from == kHf) {
        const int64_t heads = config_int(c.src, "num_attention_heads", "HF");
        if (heads <= 0)
            throw ConfigConversionError("num_attention_heads must be positive, found " + std::to_string(heads));
        c.dst.entry("rotary_dim").set(config_int(c.src, "hidden_size", "HF") / heads);
        const bool two_norms = flag(c.src, "new_decoder_architecture") &&
                               config_int_or(c.src, "num_ln_in_parallel_attn", 0, "HF") == 2;
        c.dst.entry("use_untied_layer_norm").set(two_norms || !flag(c.src, "parallel_attn"));
        return;
    }
    if (config_float_or(c.src, "embedding_dropout_rate", 0.0, "CS") != 0.0)
        throw ConfigConversionError("Falcon has no embedding dropout");
    const int64_t heads = config_int(c.src, "num_heads", "CS");
    if (heads <= 0 || config_int(c.src, "rotary_dim", "CS") != config_int(c.src, "hidden_size", "CS") / heads)
        throw ConfigConversionError("rotary dimension of falcon is equal to head_dim");
    c.dst.entry("parallel_attn").set(true);
    const int64_t kv = config_int(c.dst, "num_kv_heads", "HF");
    const bool new_arch = config_flag_or(c.src, "use_untied_layer_norm", false, "CS");
    if (!new_arch && kv != 1 && kv != config_int(c.dst, "num_attention_heads", "HF"))
        throw ConfigConversionError("HF's falcon doesn't support use_untied_layer_norm=Falsewith grouped query attention "
                                    "(i.e. num_kv_groups != num_heads and num_kv_groups != 1");
    c.dst.entry("new_decoder_architecture").set(new_arch);
    c.dst.entry("multi_query").set(kv == 1);
    if (!c.dst.has("num_ln_in_parallel_attn")) {
        if (new_arch)
            c.dst.entry("num_ln_in_parallel_attn").set(2);
        else
            c.dst.entry("num_ln_in_parallel_attn").set_null();
    }
}

std::shared_ptr<DecoderConfig> falcon_config()
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    // Release tags: pos_scaling_factor from 2.1 (this converter's first release);
    // pos_scaling_type / pos_scaling_extra_args from 2.4, gated by convert_rope_scaling.
    t->rules.add({eq("rope_scaling", "pos_scaling_factor")}, convert_rope_scaling())
        .add({eq("", "pos_scaling_extra_args")}, ConfigAction{})
        .add({eq("", "pos_scaling_type")}, ConfigAction{})
        .add({key("model_type")}, assert_value(kHf, {"falcon"}))
        .add({key("vocab_size")}, copy)
        .add({eq("alibi", "position_embedding_type")}, convert_position_embedding_type())
        .add({key("rope_theta")}, copy)
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("hidden_size")}, convert_hidden_size())
        .add({eq("num_attention_heads", "num_heads")}, copy)
        .add({eq("num_kv_heads", "extra_attention_params")}, convert_num_head_groups())
        .add({key("num_hidden_layers")}, copy)
        .add({key("max_position_embeddings")}, copy)
        .add({key("nonlinearity")}, assert_value(kCs, {"gelu"}))
        .add({eq("attention_dropout", "attention_dropout_rate")}, copy)
        .add({eq("hidden_dropout", "residual_dropout_rate")}, copy)
        .add({key("layer_norm_epsilon")}, copy)
        .add({key("use_bias_in_output")}, assert_value(kCs, {false}))
        .add({key("initializer_range")}, copy)
        .add({key("bias")}, convert_bias())
        .add({key("use_projection_bias_in_attention")}, convert_bias())
        .add({key("use_ffn_bias_in_attention")}, convert_bias())
        .add({key("use_ffn_bias")}, convert_bias())
        .add({key("alibi")}, assert_value(kHf, {false}))
        .add({key("new_decoder_architecture")}, assert_new_decoder_arch_and_parallel())
        .add({key("multi_query")}, convert_multi_query())
        .add({key("parallel_attn")}, assert_new_decoder_arch_and_parallel())
        .add({key("use_untied_layer_norm")}, ConfigAction{})
        .add({key("attention_module")}, assert_value(kCs, {"multiquery_attention"}))
        .add({key("attention_type")}, assert_value(kCs, {"scaled_dot_product"}));
    t->pre_defaults[kHf] = {{"vocab_size", 65024},       {"hidden_size", 4544},      {"num_hidden_layers", 32},
                            {"num_attention_heads", 71}, {"layer_norm_epsilon", 1e-05}, {"initializer_range", 0.02},
                            {"use_cache", true},         {"hidden_dropout", 0.0},    {"attention_dropout", 0.0},
                            {"num_kv_heads", nullptr},   {"alibi", false},           {"new_decoder_architecture", false},
                            {"multi_query", true},       {"parallel_attn", true},    {"bias", false},
                            {"max_position_embeddings", 2048}, {"rope_theta", 10000.0}, {"rope_scaling", nullptr},
                            {"bos_token_id", 11},        {"eos_token_id", 11},       {"num_ln_in_parallel_attn", 2}};
    const Value one_group = Value::map({{"num_kv_groups", 1}});
    t->pre_defaults[kCs] = {{"position_embedding_type", "rotary"}, {"rope_theta", 10000.0},
                            {"embedding_dropout_rate", 0.1},       {"share_embedding_weights", true},
                            {"nonlinearity", "gelu"},              {"max_position_embeddings", 1024},
                            {"attention_module", "aiayn_attention"}, {"attention_type", "scaled_dot_product"},
                            {"use_untied_layer_norm", false},      {"extra_attention_params", one_group},
                            {"pos_scaling_factor", 1.0}};
    t->post_defaults[kHf] = {{"model_type", "falcon"}, {"new_decoder_architecture", true}, {"multi_query", true}};
    t->post_defaults[kCs] = {{"embedding_dropout_rate", 0.0},        {"share_embedding_weights", true},
                             {"nonlinearity", "gelu"},               {"max_position_embeddings", 2048},
                             {"attention_module", "multiquery_attention"}, {"attention_type", "scaled_dot_product"},
                             {"use_untied_layer_norm", true},        {"extra_attention_params", one_group},
                             {"loss_scaling", "num_tokens"},         {"use_projection_bias_in_attention", false},
                             {"use_ffn_bias_in_attention", false},   {"use_ffn_bias", false},
                             {"use_bias_in_output", false}};
    t->pre = [](ConfigContext& c, Node work) {
        // The Model Zoo reads legacy RefinedWeb configs (n_head, n_layer, n_head_kv) with its 7B and
        // 40B converters; those are not carried over yet: say so rather than misread the config.
        if (c.from == kHf && Value::read(work["model_type"]) != Value("falcon"))
            throw ConfigConversionError("Only Falcon configs of transformers' FalconForCausalLM (model_type falcon) are "
                                        "supported; the legacy RefinedWeb configs (model_type " +
                                        Value::read(work["model_type"]).str() + ") are not converted yet");
    };
    t->post = post_convert;
    return t;
}

/// CS -> HF: norm1 is ln_attn when the HF model has two norms in parallel attention, else
/// input_layernorm; norm3 (an untied norm) is ln_mlp and needs parallel attention.
CheckpointAction replace_norm(bool norm1)
{
    return {norm1 ? "replaceNorm1" : "replaceNorm3", [norm1](CheckpointContext& c, const std::string& o, std::string n) {
                if (c.from == kCs) {
                    const ConstNode hf = c.config[kHf];
                    const bool parallel = flag(hf, "parallel_attn");
                    if (!norm1 && !parallel)
                        throw ConfigConversionError(
                            "This model cannot be converted to HuggingFace's Falcon implementation. Your CS model is "
                            "using use_untied_layer_norm=True (i.e. the checkpoint contains norm1 and norm3). The "
                            "equivalent in HF requires setting parallel_attn=True...");
                    const std::string from = norm1 ? ".input_layernorm." : ".post_attention_layernorm.";
                    const bool two = parallel && config_int_or(hf, "num_ln_in_parallel_attn", 0, "HF") == 2;
                    if (!norm1 || two)
                        n.replace(n.find(from), from.size(), norm1 ? ".ln_attn." : ".ln_mlp.");
                }
                c.plan.copy(n, c.plan.input(o));
            }};
}

std::pair<FusedQkv, Rotary> falcon_qkv(const ConstNode&, const ConstNode& cs)
{
    const int64_t heads = config_int(cs, "num_heads", "CS");
    if (heads <= 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive, found " + std::to_string(heads));
    const int64_t head_dim = config_int(cs, "hidden_size", "CS") / heads;
    const int64_t groups = config_int_or(cs["extra_attention_params"], "num_kv_groups", 1, "CS extra_attention_params");
    return {FusedQkv::grouped(heads, groups, head_dim), Rotary{head_dim, head_dim}};
}

/// The HF FalconModel tensor shapes (nn.Linear weights [out, in]): the fused QKV holds the query
/// heads and one K/V pair per KV head (new architecture), one shared pair (multi-query) or a
/// K/V head per query head.
void falcon_shapes(ModelShapes& s, ConstNode hf)
{
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t ffn = s.size("ffn_hidden_size", "filter_size", 4 * d);
    s.require_multiple("hidden_size", d, "num_attention_heads", heads);
    const int64_t head_dim = heads > 0 ? d / heads : 0;
    int64_t kv = heads;
    if (flag(hf, "new_decoder_architecture"))
        kv = s.size("num_kv_heads", "extra_attention_params.num_kv_groups", heads);
    else if (flag(hf, "multi_query"))
        kv = 1;
    const int64_t qkv = (heads + 2 * kv) * head_dim;
    const std::string p = R"((?:transformer\.)?)";
    // A tied checkpoint may hold the shared matrix under either name (a safetensors writer keeps
    // one of the two), so one of them is required and both must have the embedding's shape.
    s.expect(R"((?:)" + p + R"(word_embeddings|lm_head)\.weight)", {vocab, d});
    s.expect(p + R"(ln_f\.(?:weight|bias))", {d});
    const std::string h = p + R"(h\.{layer}\.)";
    s.expect_layers(h + R"(self_attention\.query_key_value\.weight)", layers, {qkv, d});
    s.expect_layers(h + R"(self_attention\.query_key_value\.bias)", layers, {qkv}, false);
    s.expect_layers(h + R"(self_attention\.dense\.weight)", layers, {d, d});
    s.expect_layers(h + R"((?:self_attention\.dense|mlp\.dense_4h_to_h)\.bias)", layers, {d}, false);
    s.expect_layers(h + R"((?:ln_attn|ln_mlp|input_layernorm|post_attention_layernorm)\.(?:weight|bias))", layers,
                    {d}, false);
    s.expect_layers(h + R"(mlp\.dense_h_to_4h\.weight)", layers, {ffn, d});
    s.expect_layers(h + R"(mlp\.dense_h_to_4h\.bias)", layers, {ffn}, false);
    s.expect_layers(h + R"(mlp\.dense_4h_to_h\.weight)", layers, {d, ffn});
}

DecoderFamily falcon()
{
    DecoderFamily f;
    f.hf_class = "FalconForCausalLM";
    f.hf_headless_class = "FalconModel";
    f.hf_note_class = "FalconForCausalLM or RWForCausalLM";
    f.hf_headless_note_class = "FalconModel or RWModel";
    f.cs_class = "GPTJModel (configured as Falcon)";
    f.registry_name = "falcon";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "word_embeddings.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_tensor()}};
    f.base_rules = [](CheckpointRules& r) {
        r.add({re(R"(embedding_layer\.position_embed_helper\.slopes)")}, drop_tensor());
        r.add({re(R"(relative_pe_helper\.slopes)")}, drop_tensor());
        add_layer_rows(r, "h", {{"input_layernorm", "norm1", replace_norm(true)},
                                {"post_attention_layernorm", "norm3", replace_norm(false)}});
        r.add({eq("word_embeddings", "embedding_layer.word_embeddings"), re(R"(\.weight)")}, copy_tensor());
        add_layer_rows(r, "h",
                       {{"ln_attn", "norm1", copy_tensor()},
                        {"ln_mlp", "norm3", copy_tensor()},
                        {"self_attention.dense", "self_attn.proj_output_dense_layer", copy_tensor()},
                        {"self_attention.query_key_value", "self_attn.proj_q_dense_layer", fused_qkv_action(falcon_qkv)},
                        {"self_attention.query_key_value", "self_attn.proj_k_dense_layer", qkv_sibling()},
                        {"self_attention.query_key_value", "self_attn.proj_v_dense_layer", qkv_sibling()},
                        {"mlp.dense_h_to_4h", "ffn.ffn.0.linear_layer", copy_tensor()},
                        {"mlp.dense_4h_to_h", "ffn.ffn.1.linear_layer", copy_tensor()}});
        add_rows(r, {{"ln_f", "transformer_decoder.norm", final_norm()}});
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
    };
    f.config = falcon_config;
    f.shapes = falcon_shapes;
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("falcon", "1.0", "Falcon (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = falcon();
    const auto formats = cs_formats({2, 1});
    const std::string lm_note = " with LM head. When converting to HF, make sure that transformers>=4.41.0 to have the "
                                "most recent falcon implementation.";
    def.model("falcon")
        .add(std::make_shared<DecoderCs20Cs21>("GPT2LMHeadModel class (configured as falcon)"))
        .add(std::make_shared<DecoderHfCs>(fam, false, formats, false, lm_note));
    def.model("falcon-headless").registry_name("falcon").add(std::make_shared<DecoderHfCs>(fam, true, formats, false));
}
