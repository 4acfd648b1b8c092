// SPDX-License-Identifier: Apache-2.0
// hf <-> cs-2.1+ conversion of llama-family configs and checkpoints.
#include "llama_hf_cs.hpp"

#include "llama_checkpoint_rules.hpp"
#include "llama_model_shapes.hpp"
#include "lm_head_init.hpp"
#include "mup_folding.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::llama {

namespace {

std::string joined(const std::vector<std::string>& formats)
{
    std::string s;
    for (const auto& f : formats)
        s += (s.empty() ? "" : ", ") + f;
    return s;
}

std::string shape_text(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace

std::string LlamaHfCs::note_for(Variant v)
{
    std::string note = "hf " + v.hf_class() + " <-> " + joined(hf_cs_formats()) + " GPT2LMHeadModel (configured as " +
                       v.display() + ")";
    if (v.headless)
        note += "\nThe HF model doesn't contain a language model head while the CS one does. When converting to CS, "
                "the exported checkpoint will contain a language model head initialized to default random values. "
                "When converting to HF, the language model head will be dropped.";
    return note;
}

LlamaHfCs::LlamaHfCs(Variant variant)
    : Converter({"hf"}, hf_cs_formats(), note_for(variant)), m_variant(variant), m_config(variant),
      m_rules(hf_cs_rules(variant.headless))
{
}

void LlamaHfCs::convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst)
{
    m_config.run(req, src, dst);
    // muP -> sP unties the embeddings, but only when the CS config states the key: the Model Zoo
    // folds muP before inserting the pre-convert default share_embedding_weights: True.
    if (req.direction == 1 && mup_kind(src) != MupKind::none && src.has("share_embedding_weights") &&
        dst.has("tie_word_embeddings"))
        dst.find_mut("tie_word_embeddings").set(false);
}

void LlamaHfCs::plan_checkpoint(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                                sdk::Plan& plan)
{
    sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
    if (ctx.from == 0)
        check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
    sdk::apply_rules(*m_rules, ctx);
    if (m_variant.headless && ctx.from == 0)
        add_lm_head(req, hf_config, cs_config, plan);
    if (ctx.from == 1)
        check_model_shapes(hf_config, 1, plan.outputs());
}

void LlamaHfCs::add_lm_head(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                            sdk::Plan& plan) const
{
    req.log(CKPT_LOG_WARNING, joined(hf_cs_formats()) + " has a language model head (lm_head) while hf does not. "
                              "Initializing lm_head to default.");
    // The head takes the embedding's shape; the config must agree, so that a wrong config can
    // neither allocate an absurd tensor nor produce a head the model cannot load.
    const std::string embed = "embed_tokens.weight";
    bool found = false;
    for (const auto& name : plan.input_names())
        found = found || name == embed;
    if (!found)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "the headless HF checkpoint has no " + embed + " to size (or tie) the CS lm_head");
    const ckpt_value_id embed_id = plan.input(embed);
    const sdk::TensorDesc info = plan.value_info(embed_id);
    const int64_t vocab = config_int(cs_config, "vocab_size", "CS");
    const int64_t hidden = config_int(cs_config, "hidden_size", "CS");
    if (info.shape != std::vector<int64_t>{vocab, hidden})
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "tensor " + embed + " has shape " + shape_text(info.shape) + " but the config says [vocab_size, " +
                             "hidden_size] = " + shape_text({vocab, hidden}));
    // tie_word_embeddings defaults to False before converting (pre_convert_defaults).
    if (config_bool_or(hf_config, "tie_word_embeddings", false)) {
        plan.copy("lm_head.weight", embed_id);
    } else {
        add_random_lm_head(plan, "lm_head.weight", vocab, hidden);
        req.log(CKPT_LOG_INFO, "lm_head.weight: a fixed-seed stand-in for N(0, 0.02), not torch's random draw");
    }
    if (config_bool_or(cs_config, "use_bias_in_output", false))
        plan.generate("lm_head.bias", CKPT_GEN_FILL, CKPT_DTYPE_F32, {vocab}, 0.0);
}

} // namespace ckpt::llama
