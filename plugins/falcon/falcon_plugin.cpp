// SPDX-License-Identifier: Apache-2.0
// Falcon (`falcon`, `falcon-headless`) as a decoder table (spec/mappings.md §2.8), the Model Zoo's
// 180B-style converter (FalconForCausalLM, model_type falcon) that serves every CS -> HF
// conversion: fused `query_key_value` per kv group (`[groups, heads/groups + 2, head_dim]`;
// multi-query is one group), the full-head rotary interleave, parallel attention's norms, and
// the refusals (ALiBi, sequential attention, grouped query without untied norms); and, HF -> CS,
// the Model Zoo's 7B and 40B converters of the legacy remote-code RefinedWeb configs.
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
    // pos_scaling_type / pos_scaling_extra_args from 2.4 (the gates below).
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
    t->gates = rope_scaling_gates();
    t->post_defaults[kHf] = {{"model_type", "falcon"}, {"new_decoder_architecture", true}, {"multi_query", true}};
    t->post_defaults[kCs] = {{"embedding_dropout_rate", 0.0},        {"share_embedding_weights", true},
                             {"nonlinearity", "gelu"},               {"max_position_embeddings", 2048},
                             {"attention_module", "multiquery_attention"}, {"attention_type", "scaled_dot_product"},
                             {"use_untied_layer_norm", true},        {"extra_attention_params", one_group},
                             {"loss_scaling", "num_tokens"},         {"use_projection_bias_in_attention", false},
                             {"use_ffn_bias_in_attention", false},   {"use_ffn_bias", false},
                             {"use_bias_in_output", false}};
    t->post = post_convert;
    return t;
}

// ---- the legacy remote-code RefinedWeb configs (HF -> CS only) ---------------------------------

/// The two codebases the Model Zoo converts with its own sub-converters before transformers had
/// Falcon: `RefinedWebModel` (7B, multi-query only) and `RefinedWeb` (40B, grouped query through
/// `n_head_kv`). Their configs say `n_head` and `n_layer` where FalconConfig says
/// num_attention_heads and num_hidden_layers.
enum class Codebase { falcon, rw7b, rw40b };

/// Which converter the Model Zoo picks for an HF config (ConfigConverter_Falcon_HF_CS20's
/// select_subconverter): model_type falcon is today's codebase; any other config without
/// `n_head_kv` is read as the 7B codebase, one with it as the 40B codebase.
Codebase codebase_of(const ConstNode& hf)
{
    if (Value::read(hf["model_type"]) == Value("falcon"))
        return Codebase::falcon;
    return hf.has("n_head_kv") ? Codebase::rw40b : Codebase::rw7b;
}

/// HF parallel_attn -> CS use_untied_layer_norm. 7B: one norm per block (false); 40B: ln_attn
/// and ln_mlp (true), and parallel attention is required. A sequential 7B block is refused too:
/// the Model Zoo writes it as a parallel CS block (docs/decisions.md).
ConfigAction parallel_attn_convert(Codebase cb)
{
    return config_action("parallel_attn_convert", [cb](ConfigContext& c, const std::string& o, const std::string& n) {
        if (!flag(c.src, o.c_str()))
            throw ConfigConversionError(std::string("parallel attention has to be enabled for falcon-") +
                                        (cb == Codebase::rw7b ? "7B" : "40B"));
        c.dst.entry(n).set(cb == Codebase::rw40b);
    });
}

/// HF n_head_kv -> CS extra_attention_params.num_kv_groups; it must divide n_head.
ConfigAction convert_n_head_kv()
{
    return config_action("convert_num_head_groups", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const int64_t kv = config_int(c.src, o, "HF");
        const int64_t heads = config_int(c.src, "n_head", "HF");
        if (kv <= 0 || heads % kv != 0)
            throw ConfigConversionError("n_head (" + std::to_string(heads) + ") must be a multiple of n_head_kv (" +
                                        std::to_string(kv) + ")");
        Node extra = c.dst.entry(n);
        extra.make_map();
        extra.entry("num_kv_groups").set(kv);
    });
}

/// ConfigConverter_Falcon_7B_HF_CS19 / ConfigConverter_Falcon_40B_HF_CS20, HF -> CS (CS -> HF
/// always goes to today's codebase). Release tags: the same rules from Release_2.1.0 to 2.10.0.
std::shared_ptr<DecoderConfig> refinedweb_config(Codebase cb)
{
    const bool rw7b = cb == Codebase::rw7b;
    const char* model_type = rw7b ? "RefinedWebModel" : "RefinedWeb";
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    t->rules.add({key("model_type")}, assert_value(kHf, {model_type}))
        .add({key("vocab_size")}, copy)
        .add({eq("alibi", "position_embedding_type")}, convert_position_embedding_type())
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("hidden_size")}, convert_hidden_size())
        .add({eq("n_head", "num_heads")}, copy);
    if (!rw7b)
        t->rules.add({eq("n_head_kv", "extra_attention_params")}, convert_n_head_kv());
    t->rules.add({eq("n_layer", "num_hidden_layers")}, copy)
        .add({key("max_position_embeddings")}, copy)
        .add({eq("parallel_attn", "use_untied_layer_norm")}, parallel_attn_convert(cb))
        .add({eq("attention_dropout", "attention_dropout_rate")}, copy)
        .add({eq("hidden_dropout", "residual_dropout_rate")}, copy)
        .add({key("layer_norm_epsilon")}, copy)
        .add({key("initializer_range")}, copy)
        .add({key("bias")}, assert_value(kHf, {false}));
    // The HF defaults that reach a rule (the Model Zoo's list also names architectures, auto_map,
    // token ids, torch_dtype and use_cache, which no rule reads). The 7B list lacks
    // tie_word_embeddings; RWConfig's inherited default (true) is taken (docs/decisions.md).
    t->pre_defaults[kHf] = {{"alibi", false},   {"parallel_attn", true},       {"bias", false},
                            {"model_type", model_type}, {"tie_word_embeddings", true}};
    if (rw7b)
        t->pre_defaults[kHf].push_back({"multi_query", true});
    // The Model Zoo's CS defaults, and the four bias flags its 7B/40B converters assert false but
    // never write (a CS GPTJModel's defaults give attention biases): the 180B converter's values.
    t->post_defaults[kCs] = {{"position_embedding_type", "rotary"},   {"embedding_dropout_rate", 0.0},
                             {"share_embedding_weights", true},       {"nonlinearity", "gelu"},
                             {"max_position_embeddings", 2048},       {"attention_module", "multiquery_attention"},
                             {"attention_type", "scaled_dot_product"}, {"use_untied_layer_norm", !rw7b},
                             {"extra_attention_params", Value::map({{"num_kv_groups", 1}})},
                             {"loss_scaling", "num_tokens"},          {"use_projection_bias_in_attention", false},
                             {"use_ffn_bias_in_attention", false},    {"use_ffn_bias", false},
                             {"use_bias_in_output", false}};
    t->post = [rw7b](ConfigContext& c) {
        if (c.from != kHf)
            throw ConfigConversionError("The RefinedWeb converters only convert from HF; CS -> HF writes model_type falcon");
        const int64_t heads = config_int(c.src, "n_head", "HF");
        if (heads <= 0)
            throw ConfigConversionError("n_head must be positive, found " + std::to_string(heads));
        c.dst.entry("rotary_dim").set(config_int(c.src, "hidden_size", "HF") / heads);
        if (rw7b && !flag(c.src, "multi_query"))
            throw ConfigConversionError("We only support multi_query falcon for now");
    };
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

/// The HF tensor shapes (nn.Linear weights [out, in]) a config of codebase `cb` implies: the
/// fused QKV holds the query heads and one K/V pair per KV head (new architecture, 40B), one
/// shared pair (multi-query, 7B) or a K/V head per query head. The RefinedWeb configs spell the
/// head and layer counts n_head and n_layer, and their MLP is always 4 * hidden_size wide.
std::function<void(ModelShapes&, ConstNode)> falcon_shapes(Codebase cb)
{
    return [cb](ModelShapes& s, ConstNode hf) {
        const bool legacy = cb != Codebase::falcon;
        const int64_t d = s.size("hidden_size", "hidden_size");
        const int64_t layers = s.count(legacy ? "n_layer" : "num_hidden_layers", "num_hidden_layers");
        const int64_t vocab = s.size("vocab_size", "vocab_size");
        const int64_t heads = s.size(legacy ? "n_head" : "num_attention_heads", "num_heads");
        const int64_t ffn = legacy ? 4 * d : s.size("ffn_hidden_size", "filter_size", 4 * d);
        s.require_multiple("hidden_size", d, legacy ? "n_head" : "num_attention_heads", heads);
        const int64_t head_dim = heads > 0 ? d / heads : 0;
        int64_t kv = heads;
        if (cb == Codebase::rw40b)
            kv = s.size("n_head_kv", "extra_attention_params.num_kv_groups");
        else if (cb == Codebase::rw7b)
            kv = 1;
        else if (flag(hf, "new_decoder_architecture"))
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
    };
}

/// The layer-norm rows, the only tensor rows in which the codebases differ: 7B has
/// input_layernorm <-> norm1 alone, 40B ln_attn <-> norm1 and ln_mlp <-> norm3; today's codebase
/// reads all four HF names and picks them back from the HF config.
std::vector<KeyRow> norm_rows(Codebase cb)
{
    if (cb == Codebase::rw7b)
        return {{"input_layernorm", "norm1", copy_tensor()}};
    if (cb == Codebase::rw40b)
        return {{"ln_attn", "norm1", copy_tensor()}, {"ln_mlp", "norm3", copy_tensor()}};
    return {{"input_layernorm", "norm1", replace_norm(true)},
            {"post_attention_layernorm", "norm3", replace_norm(false)},
            {"ln_attn", "norm1", copy_tensor()},
            {"ln_mlp", "norm3", copy_tensor()}};
}

DecoderFamily falcon(Codebase cb)
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
    f.base_rules = [cb](CheckpointRules& r) {
        // Only today's converter knows the ALiBi slopes (and drops them).
        if (cb == Codebase::falcon) {
            r.add({re(R"(embedding_layer\.position_embed_helper\.slopes)")}, drop_tensor());
            r.add({re(R"(relative_pe_helper\.slopes)")}, drop_tensor());
        }
        add_layer_rows(r, "h", norm_rows(cb));
        r.add({eq("word_embeddings", "embedding_layer.word_embeddings"), re(R"(\.weight)")}, copy_tensor());
        add_layer_rows(r, "h",
                       {{"self_attention.dense", "self_attn.proj_output_dense_layer", copy_tensor()},
                        {"self_attention.query_key_value", "self_attn.proj_q_dense_layer", fused_qkv_action(falcon_qkv)},
                        {"self_attention.query_key_value", "self_attn.proj_k_dense_layer", qkv_sibling()},
                        {"self_attention.query_key_value", "self_attn.proj_v_dense_layer", qkv_sibling()},
                        {"mlp.dense_h_to_4h", "ffn.ffn.0.linear_layer", copy_tensor()},
                        {"mlp.dense_4h_to_h", "ffn.ffn.1.linear_layer", copy_tensor()}});
        add_rows(r, {{"ln_f", "transformer_decoder.norm", final_norm()}});
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
    };
    if (cb == Codebase::falcon)
        f.config = falcon_config;
    else
        f.config = [cb] { return refinedweb_config(cb); };
    f.shapes = falcon_shapes(cb);
    return f;
}

/// Converter_Falcon_HF_CS21 and its headless twin: HF -> CS goes through the sub-converter of the
/// HF config's codebase; CS -> HF always through today's (FalconForCausalLM, model_type falcon).
class FalconHfCs : public DecoderHfCs {
public:
    FalconHfCs(bool headless, const std::vector<std::string>& formats, const std::string& note_tail)
        : DecoderHfCs(falcon(Codebase::falcon), headless, formats, false, note_tail),
          m_rw7b(falcon(Codebase::rw7b), headless, formats, false), m_rw40b(falcon(Codebase::rw40b), headless, formats, false)
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        DecoderHfCs* sub = req.direction == 0 ? pick(src) : nullptr;
        if (!sub)
            return DecoderHfCs::convert_config(req, src, dst);
        // The Model Zoo's words, so a user sees which converter read the config.
        req.log(CKPT_LOG_INFO, std::string("The model that you're using was generated using the ") +
                                   (sub == &m_rw7b ? "7B style codebase (model=RefinedWeb) which only supports "
                                                     "multi-query attention (not grouped query)."
                                                   : "40B style codebase (model=RefinedWeb) with grouped query "
                                                     "attention support"));
        sub->convert_config(req, src, dst);
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        DecoderHfCs* sub = req.direction == 0 ? pick(hf_config) : nullptr;
        if (!sub)
            return DecoderHfCs::plan_checkpoint(req, hf_config, cs_config, plan);
        sub->plan_checkpoint(req, hf_config, cs_config, plan);
    }

private:
    /// The RefinedWeb sub-converter for `hf`, or nullptr for today's codebase.
    DecoderHfCs* pick(const ConstNode& hf)
    {
        const Codebase cb = codebase_of(hf);
        return cb == Codebase::rw7b ? &m_rw7b : cb == Codebase::rw40b ? &m_rw40b : nullptr;
    }

    DecoderHfCs m_rw7b, m_rw40b;
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("falcon", "1.0", "Falcon (Hugging Face <-> Cerebras Model Zoo), on the SDK decoder helper");
    const auto formats = cs_formats({2, 1});
    const std::string lm_note = " with LM head. When converting to HF, make sure that transformers>=4.41.0 to have the "
                                "most recent falcon implementation.";
    def.model("falcon")
        .add(std::make_shared<DecoderCs20Cs21>("GPT2LMHeadModel class (configured as falcon)"))
        .add(std::make_shared<FalconHfCs>(false, formats, lm_note));
    def.model("falcon-headless").registry_name("falcon").add(std::make_shared<FalconHfCs>(true, formats, ""));
}
