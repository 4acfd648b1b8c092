// SPDX-License-Identifier: Apache-2.0
// MPT (`mpt`, `mpt-headless`) as a decoder table (spec/mappings.md §2.11): the Model Zoo has it in
// Release 2.3 only (removed in 2.4.0), so its CS formats stop at cs-2.3. Wqkv is q | k | v
// concatenated, the HF attention settings live in one `attn_config` map, one `no_bias` flag
// stands for the three CS bias flags, the head is tied (the CS lm_head is the word embedding),
// and ALiBi slopes are generated on the way to CS when the config asks for ALiBi.
#include <ckptconv/cpp/alibi.hpp>
#include <ckptconv/cpp/decoder.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

const char* kBiasFlags[] = {"use_projection_bias_in_attention", "use_ffn_bias_in_attention", "use_ffn_bias"};

/// A rule the Model Zoo declares with exists="right": a key of that name in an HF config is not
/// matched (dropped), rather than refused.
ConfigAction cs_only(ConfigAction inner)
{
    return config_action(inner.name, [inner](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kCs)
            inner.fn(c, o, n);
    });
}

/// HF `attn_config` <-> CS attention_module, attention_dropout_rate, attention_type and
/// position_embedding_type (the Model Zoo's convert_attention_config).
ConfigAction convert_attention_config()
{
    return config_action("convert_attention_config", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from == kHf) {
            if (o != "attn_config")
                return; // a CS-only key in an HF config: not matched upstream
            const ConstNode a = c.src[o];
            if (!a.is_map())
                throw ConfigConversionError("HF config: attn_config must be a map");
            const std::string module = config_string_or(a, "attn_type", "multihead_attention", "HF attn_config");
            c.dst.entry("attention_module").set(module == "multihead_attention" ? "aiayn_attention" : module);
            c.dst.entry("attention_dropout_rate").assign(a["attn_pdrop"]);
            const Value scale = Value::read(a["softmax_scale"]);
            if (scale == Value())
                c.dst.entry("attention_type").set("scaled_dot_product");
            else if (scale == Value(1.0))
                c.dst.entry("attention_type").set("dot_product");
            else
                throw ConfigConversionError("CS model only supports softmax_scale of 1.0 or None");
            c.dst.entry("position_embedding_type")
                .set(config_flag_or(a, "alibi", false, "HF attn_config") ? "alibi" : "learned");
            if (Value::read(a["alibi_bias_max"]) != Value(8) && a["alibi_bias_max"].present())
                throw ConfigConversionError("CS only supports alibi_bias_max=8");
            return;
        }
        Node a = c.dst.entry("attn_config");
        if (!a.is_map())
            a.make_map();
        const Value v = Value::read(c.src[o]);
        if (o == "attention_module") {
            if (v != Value("aiayn_attention") && v != Value("multiquery_attention"))
                throw ConfigConversionError("MPT model does not support attention_module=" + v.str());
            a.entry("attn_type").set(v == Value("aiayn_attention") ? "multihead_attention" : "multiquery_attention");
        } else if (o == "attention_dropout_rate") {
            a.entry("attn_pdrop").assign(c.src[o]);
        } else if (o == "attention_type") {
            if (v == Value("scaled_dot_product"))
                a.entry("softmax_scale").set_null();
            else if (v == Value("dot_product"))
                a.entry("softmax_scale").set(1.0);
            else
                throw ConfigConversionError("attention_type " + v.str() + " isn't supported in MPT models");
        } else if (o == "position_embedding_type") {
            if (v != Value("alibi") && v != Value("learned"))
                throw ConfigConversionError("MPT model only supports alibi or learned position embeddings");
            a.entry("alibi").set(v == Value("alibi"));
        }
    });
}

/// HF `no_bias` <-> the three CS bias flags, which must agree.
ConfigAction convert_no_bias()
{
    return config_action("convert_no_bias", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const bool v = config_flag_or(c.src, o, false, c.from == kHf ? "HF" : "CS");
        if (c.from == kHf) {
            for (const char* k : kBiasFlags)
                c.dst.entry(k).set(!v);
            return;
        }
        if (c.dst.has(n) && Value::read(c.dst[n]) == Value(v))
            throw ConfigConversionError("use_projection_bias_in_attention, use_ffn_bias_in_attention, and "
                                        "use_ffn_bias must all be the same in MPT models.");
        c.dst.entry(n).set(!v);
    });
}

/// HF `expansion_ratio` <-> CS `filter_size` = expansion_ratio * d_model.
ConfigAction convert_expansion_ratio()
{
    return config_action("convert_expansion_ratio", [](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kHf) {
            const ConstNode r = c.src[o];
            if (r.kind() == CKPT_NODE_INT)
                c.dst.entry(n).set(r.as_int() * config_int(c.src, "d_model", "HF"));
            else
                c.dst.entry(n).set(config_float_or(c.src, o, 4.0, "HF") * config_float_or(c.src, "d_model", 0.0, "HF"));
            return;
        }
        const double ratio = config_float_or(c.src, o, 0.0, "CS") / config_float_or(c.src, "hidden_size", 0.0, "CS");
        if (!std::isfinite(ratio) || ratio != std::floor(ratio))
            throw ConfigConversionError("expansion_ratio (filter_size / hidden_size) must be an integer");
        c.dst.entry(n).set(static_cast<int64_t>(ratio));
    });
}

/// HF `norm_type` (low_precision_ dropped; layernorm without biases is CS biasless-layernorm) <-> CS.
ConfigAction convert_norm_type()
{
    return config_action("convert_norm_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
        std::string norm = config_string_or(c.src, o, "layernorm", c.from == kHf ? "HF" : "CS");
        if (c.from == kHf) {
            const std::string low = "low_precision_";
            if (norm.compare(0, low.size(), low) == 0) {
                c.req.log(CKPT_LOG_WARNING, "CS doesn't support low precision layer norm. Using non-low-precision "
                                            "implementation.");
                norm = norm.substr(low.size());
            }
            if (norm == "layernorm" && config_flag_or(c.src, "no_bias", false, "HF"))
                norm = "biasless-layernorm";
        } else if (norm == "biasless-layernorm") {
            for (const char* k : kBiasFlags)
                if (config_flag_or(c.src, k, true, "CS"))
                    throw ConfigConversionError("use_projection_bias_in_attention, use_ffn_bias_in_attention, and "
                                                "use_ffn_bias must all be False when using biasless-layernorm in "
                                                "MPT models.");
            c.dst.entry("no_bias").set(true);
            norm = "layernorm";
        }
        c.dst.entry(n).set(norm);
    });
}

/// `layer_norm_epsilon` must be 1e-05 (MPT's fixed epsilon). The Model Zoo refuses the key in
/// an HF config; transformers' MptConfig always writes it, so 1e-05 is accepted there (D28).
ConfigAction assert_epsilon()
{
    const ConfigAction cs = assert_value(kCs, {1e-05});
    const ConfigAction hf = assert_value(kHf, {1e-05});
    return config_action(cs.name, [cs, hf](ConfigContext& c, const std::string& o, const std::string& n) {
        (c.from == kCs ? cs : hf).fn(c, o, n);
    });
}

/// ConfigConverter_MPT_HF_CS21 (Release 2.3: hf <-> cs-2.1, cs-2.2, cs-2.3).
std::shared_ptr<DecoderConfig> mpt_config()
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    const ConfigAction attention = convert_attention_config();
    t->rules.add({key("model_type")}, assert_value(kHf, {"mpt"}))
        .add({key("vocab_size")}, copy)
        .add({key("use_position_embedding")}, cs_only(assert_value(kCs, {true})))
        .add({eq("emb_pdrop", "embedding_dropout_rate")}, copy)
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("embedding_layer_norm")}, assert_value(kCs, {false}))
        .add({eq("d_model", "hidden_size")}, copy)
        .add({eq("n_heads", "num_heads")}, copy)
        .add({eq("n_layers", "num_hidden_layers")}, copy)
        .add({eq("max_seq_len", "max_position_embeddings")}, copy)
        .add({key("attn_config")}, attention)
        .add({key("attention_module")}, attention)
        .add({key("attention_type")}, attention)
        .add({key("attention_dropout_rate")}, attention)
        .add({key("position_embedding_type")}, attention);
    for (const char* flag : kBiasFlags)
        t->rules.add({eq("no_bias", flag)}, convert_no_bias());
    t->rules.add({eq("expansion_ratio", "filter_size")}, convert_expansion_ratio())
        .add({key("nonlinearity")}, cs_only(assert_value(kCs, {"gelu"})))
        .add({eq("resid_pdrop", "dropout_rate")}, copy)
        .add({key("layer_norm_epsilon")}, assert_epsilon())
        .add({key("use_bias_in_output")}, assert_value(kCs, {false}))
        .add({key("initializer_range")}, copy)
        .add({key("fixed_sparse_attention")}, assert_value(kCs, {nullptr}))
        .add({key("norm_first")}, assert_value(kCs, {true}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCs, {false}))
        .add({key("norm_type")}, convert_norm_type())
        .add({key("embedding_fraction")}, assert_value(kHf, {1.0}))
        .add({key("logit_scale")}, assert_value(kHf, {nullptr}));
    const auto attn_config = [](const char* impl) {
        return Value::map({{"attn_type", "multihead_attention"},
                           {"attn_pdrop", 0.0},
                           {"attn_impl", impl},
                           {"qk_ln", false},
                           {"clip_qkv", nullptr},
                           {"softmax_scale", nullptr},
                           {"prefix_lm", false},
                           {"attn_uses_sequence_id", false},
                           {"alibi", false},
                           {"alibi_bias_max", 8}});
    };
    t->pre_defaults[kHf] = {{"d_model", 2048},         {"n_heads", 16},         {"n_layers", 24},
                            {"expansion_ratio", 4},    {"max_seq_len", 2048},   {"vocab_size", 50368},
                            {"resid_pdrop", 0.0},      {"emb_pdrop", 0.0},      {"learned_pos_emb", true},
                            {"attn_config", attn_config("triton")},             {"logit_scale", nullptr},
                            {"no_bias", false},        {"embedding_fraction", 1.0},
                            {"norm_type", "low_precision_layernorm"},           {"use_cache", false}};
    t->pre_defaults[kCs] = gpt2_model_cs_defaults();
    t->pre_defaults[kCs].emplace_back("norm_type", "layernorm");
    t->post_defaults[kHf] = {{"model_type", "mpt"}, {"attn_config", attn_config("torch")}};
    t->post_defaults[kCs] = {{"mixed_precision", true},
                             {"position_embedding_type", "learned"},
                             {"embedding_dropout_rate", 0.0},
                             {"embedding_layer_norm", false},
                             {"attention_type", "scaled_dot_product"},
                             {"use_projection_bias_in_attention", true},
                             {"use_ffn_bias_in_attention", true},
                             {"use_ffn_bias", true},
                             {"attention_dropout_rate", 0.0},
                             {"dropout_rate", 0.0},
                             {"use_bias_in_output", false},
                             {"norm_first", true},
                             {"use_ff_layer1_dropout", false},
                             {"share_embedding_weights", true},
                             {"nonlinearity", "gelu"}};
    return t;
}

/// HF wte -> CS word embedding and (the Model Zoo's convert_word_embeddings) the tied CS lm_head,
/// unless an LM-form input brings its own lm_head.weight (transformers' tied alias).
CheckpointAction convert_word_embeddings()
{
    return {"convert_word_embeddings", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = load_scaled(c, o);
                c.plan.copy(n, id);
                const bool lm_form = o.compare(0, 12, "transformer.") == 0;
                if (c.from != kHf || (lm_form && InputIndex(c.plan).has("lm_head.weight")))
                    return;
                std::string head = n;
                head.replace(head.find("embedding_layer.word_embeddings"), 31, "lm_head");
                c.plan.copy(head, id);
            }};
}

/// The LM head: an HF lm_head (transformers' tied alias) becomes the CS head; the CS head goes to
/// HF only when untied (tied, HF MPT has none to load).
CheckpointAction convert_lm_head()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (c.from == kHf || !config_flag_or(c.config[kCs], "share_embedding_weights", true, "CS"))
                    c.plan.copy(n, load_scaled(c, o));
                else
                    c.plan.drop(o);
            }};
}

/// The HF MPT tensor shapes. The MLP width is not checked: transformers' MptForCausalLM is always
/// 4 * d_model wide whatever expansion_ratio says, MosaicML's is expansion_ratio * d_model.
void mpt_shapes(ModelShapes& s, ConstNode)
{
    const int64_t d = s.size("d_model", "hidden_size", 2048);
    const int64_t layers = s.count("n_layers", "num_hidden_layers", 24);
    const int64_t vocab = s.size("vocab_size", "vocab_size", 50368);
    const int64_t heads = s.size("n_heads", "num_heads", 16);
    s.require_multiple("d_model", d, "n_heads", heads);
    const std::string p = R"((?:transformer\.)?)";
    s.expect(p + R"(wte\.weight)", {vocab, d});
    s.expect(p + R"(norm_f\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    const std::string b = p + R"(blocks\.{layer}\.)";
    s.expect_layers(b + R"(attn\.Wqkv\.weight)", layers, {3 * d, d});
    s.expect_layers(b + R"(attn\.Wqkv\.bias)", layers, {3 * d}, false);
    s.expect_layers(b + R"(attn\.out_proj\.weight)", layers, {d, d});
    s.expect_layers(b + R"(attn\.out_proj\.bias)", layers, {d}, false);
    s.expect_layers(b + R"(norm_[12]\.(?:weight|bias))", layers, {d}, false);
}

DecoderFamily mpt()
{
    DecoderFamily f;
    f.hf_class = "MptForCausalLM";
    f.hf_headless_class = "MptModel";
    f.hf_note_class = "MPTForCausalLM";
    f.hf_headless_note_class = "MPTModel";
    f.cs_class = "GPT2LMHeadModel (configured as MPT)";
    f.registry_name = "mpt";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", convert_lm_head()}};
    f.base_rules = [](CheckpointRules& r) {
        r.add({re(R"((?:embedding_layer\.position_embed_helper|relative_pe_helper)\.slopes)")}, drop_tensor());
        add_rows(r, {{"wpe", "embedding_layer.position_embeddings.embed", copy_scaled()},
                     {"wpe", "embedding_layer.position_embeddings", copy_scaled()},
                     {"wte", "embedding_layer.word_embeddings", convert_word_embeddings()},
                     {"norm_f", "transformer_decoder.norm", final_norm()}});
        add_layer_rows(r, "blocks",
                       {{"attn.Wqkv", "self_attn.proj_q_dense_layer",
                         fused_qkv_action([](const ConstNode&, const ConstNode& cs) {
                             return std::make_pair(FusedQkv::concatenated(config_int(cs, "hidden_size", "CS")),
                                                   Rotary::none());
                         })},
                        {"attn.Wqkv", "self_attn.proj_k_dense_layer", qkv_sibling()},
                        {"attn.Wqkv", "self_attn.proj_v_dense_layer", qkv_sibling()},
                        {"attn.out_proj", "self_attn.proj_output_dense_layer", copy_scaled()},
                        {"norm_1", "norm1", copy_scaled()},
                        {"norm_2", "norm3", copy_scaled()},
                        {"ffn.up_proj", "ffn.ffn.0.linear_layer", copy_scaled()},
                        {"ffn.down_proj", "ffn.ffn.1.linear_layer", copy_scaled()}});
        r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
    };
    f.config = mpt_config;
    f.shapes = mpt_shapes;
    f.headless_head_from_rules = true;
    f.after_rules = [](CheckpointContext& c, bool headless) {
        if (c.from != kHf)
            return;
        if (headless)
            c.req.log(CKPT_LOG_WARNING, join(cs_formats({2, 1}, {2, 3})) +
                                            " has a language model head (lm_head) while hf does not. Initializing "
                                            "to same as word embeddings (tied embeddings)");
        const ConstNode cs = c.config[kCs];
        if (config_string_or(cs, "position_embedding_type", "learned", "CS") == "alibi") {
            add_cs_alibi_slopes(c.plan, c.req.tgt_fmt, cs);
            return;
        }
        const std::string wpe = headless ? "wpe.weight" : "transformer.wpe.weight";
        if (!InputIndex(c.plan).has(wpe))
            c.req.log(CKPT_LOG_WARNING,
                      "the config asks for learned position embeddings (attn_config.alibi is false or absent) but "
                      "the checkpoint has no " + wpe + ": the CS model's position embeddings will start untrained. "
                      "transformers' MptConfig leaves alibi out of config.json when it is true (its default); set "
                      "attn_config.alibi to true to convert such a model with ALiBi.");
    };
    return f;
}

/// Why cs-2.3 is MPT's last release: what the host says when it refuses a later one.
constexpr const char* kRemoved = "the Model Zoo removed MPT after cs-2.3 (Release 2.3.1)";

/// What `list` adds to the HF <-> CS notes.
constexpr const char* kLastRelease =
    "\nRelease 2.3.1 is the last Model Zoo release with MPT (removed in Release 2.4.0): its CS formats stop at cs-2.3.";

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("mpt", "1.0", "MPT (Hugging Face <-> Cerebras Model Zoo Release 2.3), on the SDK decoder helper");
    const DecoderFamily fam = mpt();
    const auto formats = cs_formats({2, 1}, {2, 3});
    def.model("mpt")
        .last_release("cs-2.3", kRemoved)
        .add(std::make_shared<DecoderHfCs>(fam, false, formats, false, kLastRelease));
    def.model("mpt-headless")
        .registry_name("mpt")
        .last_release("cs-2.3", kRemoved)
        .add(std::make_shared<DecoderHfCs>(fam, true, formats, false, kLastRelease));
}
