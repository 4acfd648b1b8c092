// SPDX-License-Identifier: Apache-2.0
// BTLM (`btlm`, `btlm-headless`) and JAIS (`jais`) as decoder tables (spec/mappings.md §2.14):
// GPT-2's Conv1D layout plus copied ALiBi slopes, a SwiGLU gate (`mlp.c_fc2`) and muP that the
// Hugging Face models keep natively, so the muP keys are converted and no tensor is folded.
#include <ckptconv/cpp/gpt2_style.hpp>
#include <ckptconv/cpp/plugin.hpp>

#include <cmath>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

/// The muP width multiplier on the CS side: the file keeps it at
/// `optimizer.adjust_learning_rate.decoder_kernel`; the host shows it to us as this model key.
constexpr const char* kDecoderKernel = "decoder_kernel";

/// HF `alibi_scaling` <-> CS `pos_scaling_factor` (the Model Zoo's convert_pi for ALiBi): null
/// is 1.0, a fixed linear scaling is its factor; dynamic scaling (`train_seq_len`) is refused.
ConfigAction convert_alibi_scaling()
{
    return config_action("convert_pi", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const ConstNode v = c.src[o];
        if (c.from == kHf) {
            if (!v.present() || v.is_null()) {
                c.dst.entry(n).set(1.0);
                return;
            }
            if (!v.is_map() || !v.has("factor"))
                throw ConfigConversionError("alibi_scaling must be null or a dictionary with a 'factor', found " +
                                            Value::read(v).str());
            if (v.has("train_seq_len") && !v["train_seq_len"].is_null())
                throw ConfigConversionError("Only `alibi_scaling` fixed linear scaling is currently supported, but "
                                            "got train_seq_len is `" + Value::read(v["train_seq_len"]).str() +
                                            "` which requires support for dynamic linear scaling.");
            c.dst.entry(n).assign(v["factor"]);
            return;
        }
        const Value factor = Value::read(v);
        (factor == Value(1.0) ? Value() : Value::map({{"type", Value("linear")}, {"factor", factor}})).write(c.dst.entry(n));
    });
}

/// The number under `key` (integers accepted), naming the key when it is not one.
double number(const ConstNode& config, const std::string& key)
{
    const ConstNode n = config[key];
    if (n.kind() == CKPT_NODE_INT)
        return static_cast<double>(n.as_int());
    if (n.kind() == CKPT_NODE_FLOAT)
        return n.as_float();
    throw ConfigConversionError("Can't convert config with " + key + "=" + Value::read(n).str() + ": a number is needed");
}

/// HF `mup_output_alpha` <-> CS `output_logits_scale` = alpha x `mup_width_scale`; the width
/// multiplier itself travels as CS `decoder_kernel` (written by the post step, read back here).
/// Arithmetic as Python's: two integers multiply to an integer, a quotient is a float.
ConfigAction convert_mup_output()
{
    return config_action("convert_mup_output", [](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kHf) {
            const std::string width = "mup_width_scale";
            if (c.src[o].kind() == CKPT_NODE_INT && c.src[width].kind() == CKPT_NODE_INT)
                c.dst.entry(n).set(c.src[o].as_int() * c.src[width].as_int());
            else
                c.dst.entry(n).set(number(c.src, o) * number(c.src, width));
            return;
        }
        const double width = number(c.src, kDecoderKernel);
        if (width == 0.0 || !std::isfinite(width))
            throw ConfigConversionError("Can't convert config with decoder_kernel=" + Value::read(c.src[kDecoderKernel]).str() +
                                        ": the muP width multiplier must be a finite non-zero number");
        c.dst.entry(n).set(number(c.src, o) / width);
        c.dst.entry("mup_width_scale").assign(c.src[kDecoderKernel]);
    });
}

/// A cs-2.3+ muP model section (mup_base_* keys, as the cs-2.2 -> cs-2.3 step writes them) in the
/// cs-2.2 keys that BTLM's HF config is made from: decoder_kernel = mup_base_hidden_size /
/// hidden_size, output_logits_scale = the logits multiplier the cs-2.3 keys give. The Model Zoo
/// reads only the cs-2.2 keys and so loses muP here (docs/decisions.md); what the HF model cannot
/// express (a query-key alpha, a filter width scaled apart from the hidden width) is refused.
void cs23_mup_to_cs22_keys(Node work)
{
    if (mup_form(work) != MupForm::post_cs23)
        return;
    if (work.has("output_logits_scale"))
        throw ConfigConversionError("The muP config has both output_logits_scale (cs-2.2) and mup_base_* keys "
                                    "(cs-2.3); give one form");
    const double qk_alpha = config_float_or(work, "attention_logits_alpha", 1.0, "CS");
    if (qk_alpha != 1.0)
        throw ConfigConversionError("Can't convert config with attention_logits_alpha=" + Value(qk_alpha).str() +
                                    ": the HF model has no query-key multiplier. Only 1.0 is supported.");
    const double kernel = number(work, "mup_base_hidden_size") / number(work, "hidden_size");
    if (!(kernel > 0) || !std::isfinite(kernel))
        throw ConfigConversionError("Can't convert config with mup_base_hidden_size=" +
                                    Value::read(work["mup_base_hidden_size"]).str() + ": it must be positive");
    if (work.has("mup_base_filter_size") && !work["mup_base_filter_size"].is_null()) {
        const double filter = number(work, "mup_base_filter_size") / number(work, "filter_size");
        if (std::fabs(filter - kernel) > 1e-9 * kernel)
            throw ConfigConversionError("Can't convert config with mup_base_filter_size / filter_size = " +
                                        Value(filter).str() + " and mup_base_hidden_size / hidden_size = " +
                                        Value(kernel).str() + ": the HF model has one width multiplier "
                                        "(mup_width_scale) for both");
    }
    if (work.has(kDecoderKernel) && number(work, kDecoderKernel) != kernel)
        throw ConfigConversionError("Can't convert config with decoder_kernel=" + Value::read(work[kDecoderKernel]).str() +
                                    ": mup_base_hidden_size / hidden_size gives " + Value(kernel).str());
    const double logits = mup_factor(work, "lm_head.weight");
    work.entry("output_logits_scale").set(logits);
    work.entry(kDecoderKernel).set(kernel);
}

/// ConfigConverter_BTLMModel_HF_CS21 (`jais` false) or ConfigConverter_JAISModel_HF_CS21: GPT-2's
/// table behind the ALiBi and muP rows. JAIS's own converter never moves decoder_kernel (it
/// compares a FormatIndices object with 0 and 1); ckptconv does what it intends, as BTLM's does
/// (docs/decisions.md).
std::shared_ptr<DecoderConfig> btlm_style_config(bool jais)
{
    auto t = std::make_shared<DecoderConfig>();
    const ConfigAction copy = rename_key();
    const std::string name = jais ? "jais" : "btlm";
    t->rules.add({eq("alibi_scaling", "pos_scaling_factor")}, convert_alibi_scaling())
        .add({key("model_type")}, assert_value(kHf, {Value(name)}))
        .add({key("position_embedding_type")}, copy)
        .add({eq("mup_output_alpha", "output_logits_scale")}, convert_mup_output())
        .add({eq("mup_scale_qk_dot_by_d", "scale_qk_dot_by_d")}, copy)
        .add({eq("mup_embeddings_scale", "embeddings_scale")}, copy)
        .add({eq("scale_attn_by_inverse_layer_idx", "scale_qk_dot_by_layer_idx")}, copy);
    add_gpt2_config_rows(t->rules, "gpt2", convert_attention_type(), true);
    t->pre_defaults[kHf] = {{"tie_word_embeddings", true}, {"mup_width_scale", 1.0}, {"alibi_scaling", nullptr}};
    t->pre_defaults[kCs] = {{"share_embedding_weights", true}, {"pos_scaling_factor", 1.0}};
    const std::string repo = jais ? "core42/jais-30b-v3--" : "cerebras/btlm-3b-8k-base--";
    const std::string module = jais ? "modeling_jais." : "modeling_btlm.";
    const std::string prefix = jais ? "JAIS" : "BTLM";
    std::vector<std::pair<std::string, Value>> auto_map{
        {"AutoConfig", Value(repo + (jais ? "configuration_jais." : "configuration_btlm.") + prefix + "Config")},
        {"AutoModel", Value(repo + module + prefix + "Model")},
        {"AutoModelForCausalLM", Value(repo + module + prefix + "LMHeadModel")}};
    if (jais)
        for (const char* head : {"QuestionAnswering", "SequenceClassification", "TokenClassification"})
            auto_map.emplace_back(std::string("AutoModelFor") + head,
                                  Value(repo + module + "JAISFor" + head));
    if (jais)
        t->post_defaults[kHf] = {{"model_type", "jais"}, // GPT-2's post-default, updated in place
                                 {"_name_or_path", "core42/jais-30b-v3"},
                                 {"architectures", Value::list({Value("JAISLMHeadModel")})},
                                 {"use_cache", true},
                                 {"auto_map", Value::map(auto_map)}};
    else
        t->post_defaults[kHf] = {{"model_type", "btlm"}, {"use_cache", true}, {"auto_map", Value::map(auto_map)}};
    t->post_defaults[kCs] = {{"use_bias_in_output", false}};
    // Every key the table writes is known from cs-2.1, its oldest target (the Model Zoo's own
    // converter writes them all for cs-2.1); only the cs-2.4 label is gated.
    t->gates = {registry_name_gate()};
    t->pre = [](ConfigContext& c, Node work) {
        gpt2_config_pre(c, work);
        if (c.from == kCs)
            cs23_mup_to_cs22_keys(work);
        if (c.from == kCs && !work.has(kDecoderKernel)) {
            c.req.log(CKPT_LOG_WARNING, "The provided config is missing the following muP parameter (which is "
                                        "required for BTLM):\noptimizer:\n\tadjust_learning_rate:\n\t\tdecoder_kernel\n"
                                        "Please make sure that you're using a muP config.\nProceeding with a default "
                                        "value of decoder_kernel=1.0");
            work.entry(kDecoderKernel).set(1.0);
        }
    };
    t->post = [](ConfigContext& c) {
        if (c.from == kHf)
            c.dst.entry(kDecoderKernel).assign(c.src["mup_width_scale"]);
    };
    return t;
}

/// The HF BTLM / JAIS tensor shapes (Conv1D weights `[in, out]`): GPT-2's, the fused c_attn, the
/// SwiGLU gate, and the ALiBi slopes `[heads, 1]` when the positions are ALiBi (then `wpe` is optional).
void btlm_style_shapes(ModelShapes& s, ConstNode hf)
{
    const bool alibi = config_string_or(hf, "position_embedding_type", "alibi", "HF") == "alibi";
    const Gpt2BaseShapes g = add_gpt2_base_shapes(s, /*conv1d=*/true, /*learned_positions=*/!alibi);
    const int64_t d = g.hidden;
    s.expect_layers(g.layer + R"(attn\.c_attn\.weight)", g.layers, {d, 3 * d});
    s.expect_layers(g.layer + R"(attn\.c_attn\.bias)", g.layers, {3 * d});
    s.expect_layers(g.layer + R"(mlp\.c_fc2\.weight)", g.layers, {d, g.inner});
    s.expect_layers(g.layer + R"(mlp\.c_fc2\.bias)", g.layers, {g.inner});
    s.expect(R"((?:transformer\.)?relative_pe\.slopes)", {g.heads, 1}, alibi);
}

/// BTLM (`jais` false) or JAIS: GPT-2's rows behind the slopes and the SwiGLU gate.
DecoderFamily btlm_style(bool jais)
{
    DecoderFamily f;
    f.hf_class = jais ? "JAISLMHeadModel" : "BTLMLMHeadModel";
    f.hf_headless_class = jais ? "JAISModel" : "BTLMModel";
    f.cs_class = jais ? "GPT2LMHeadModel (configured as JAIS)" : "GPT2LMHeadModel (configured as BTLM)";
    f.registry_name = jais ? "jais" : "btlm";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_tensor()}};
    f.base_rules = [](CheckpointRules& r) {
        r.add({eq("relative_pe.slopes", "embedding_layer.position_embed_helper.slopes")}, copy_tensor());
        // The pre-2.1 CS name, reachable CS -> HF only.
        r.add({eq("relative_pe.slopes", "relative_pe_helper.slopes")}, copy_tensor());
        add_layer_rows(r, "h", {{"mlp.c_fc2", "ffn.ffn.0.linear_layer_for_glu", transpose_if_2d()}});
        add_gpt2_base_rows(r, transpose_if_2d(),
                           {{"attn.c_attn", "self_attn.proj_q_dense_layer", conv1d_c_attn()},
                            {"attn.q_attn", "self_attn.proj_q_dense_layer", refuse_cross_attention()},
                            {"attn.c_attn", "self_attn.proj_k_dense_layer", qkv_sibling()},
                            {"attn.c_attn", "self_attn.proj_v_dense_layer", qkv_sibling()}});
    };
    f.config = [jais] { return btlm_style_config(jais); };
    f.mup_native = true;
    f.shapes = btlm_style_shapes;
    return f;
}

/// cs-2.0 <-> cs-2.1 of a BTLM-style model: Release_2.0.2's GPT-2 model cannot scale ALiBi
/// positions (`pos_scaling_factor` first appears in Release_2.1.0).
std::shared_ptr<DecoderCs20Cs21> cs20_cs21_step(const std::string& note)
{
    auto step = std::make_shared<DecoderCs20Cs21>(note);
    step->gates = {{"pos_scaling_factor", {2, 1}, {1.0}}};
    return step;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("btlm", "1.0", "BTLM and JAIS (Hugging Face remote code <-> Cerebras Model Zoo), on the SDK decoder helper");
    const auto cs21 = cs_formats({2, 1});
    const DecoderFamily btlm = btlm_style(false);
    def.model("btlm")
        .add(cs20_cs21_step("GPT2LMHeadModel class (configured as BTLM)"))
        .add(std::make_shared<DecoderHfCs>(btlm, false, cs21, false));
    // The Model Zoo's registry has no `btlm-headless`; its CS model is the BTLM one.
    def.model("btlm-headless").registry_name("btlm").add(std::make_shared<DecoderHfCs>(btlm, true, cs21, false));
    // No `jais-headless`: no Model Zoo release registers one (Release_2.3.0 ... 2.10.0).
    def.model("jais")
        .add(cs20_cs21_step("GPT2LMHeadModel class (configured as JAIS)"))
        .add(std::make_shared<DecoderHfCs>(btlm_style(true), false, cs21, false));
}
