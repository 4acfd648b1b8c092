// SPDX-License-Identifier: Apache-2.0
// The hf <-> cs-2.1+ converters of the bert family (Converter_BertPretrainModel_HF_CS21/23,
// Converter_BertFor*_HF_CS21, Converter_RobertaPretrainModel_HF_CS21): config table plus the
// release-specific extras, and the checkpoint table plus the tensors a file may omit.
#include "bert.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::bert {

namespace {

class BertHfConverter : public sdk::Converter {
public:
    BertHfConverter(Variant variant, std::vector<std::string> cs_formats)
        : Converter({"hf"}, cs_formats, note_for(variant, cs_formats)), m_variant(variant),
          m_rules(hf_cs_rules(variant, CsKeys::cs21))
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 1)
            refuse_mup(src);
        hf_cs_config(m_variant).run(req, src, dst);
        if (req.direction != 0) {
            // What transformers' save_pretrained writes and loaders such as vLLM require.
            Node arch = dst.entry("architectures");
            arch.make_list();
            arch.append().set(hf_class(m_variant));
            return;
        }
        const auto v = sdk::cs_version(req.tgt_fmt);
        // The 2.1-2.3 releases that target these versions also wrote enable_vts (BERT's CS21
        // config converter only for cs-2.1/2.2, RoBERTa's for all three; the references).
        const std::pair<int, int> vts_until{2, m_variant == Variant::roberta ? 3 : 2};
        if ((!v || *v <= vts_until) && !dst.has("enable_vts"))
            dst.entry("enable_vts").set(false);
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0)
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
        if (ctx.from == 1)
            restore_tied_embeddings(req, cs_config, plan);
        sdk::apply_rules(*m_rules, ctx);
        if (ctx.from == 0)
            restore_mlm_decoder(req, m_variant, hf_config, plan);
        else if (m_variant == Variant::roberta)
            add_roberta_token_types(hf_config, cs_config, plan);
        if (ctx.from == 1)
            check_model_shapes(hf_config, 1, plan.outputs());
    }

private:
    static std::string note_for(Variant variant, const std::vector<std::string>& cs_formats)
    {
        const std::string cls = variant == Variant::roberta ? "RobertaForPreTraining" : hf_class(variant);
        return "hf <-> " + sdk::join(cs_formats) + " for " + cls;
    }

    /// The Model Zoo folds BERT muP checkpoints into standard parameterisation on CS -> HF; that
    /// fold is not implemented here, and silently ignoring it would give wrong weights.
    static void refuse_mup(ConstNode cs)
    {
        for (size_t i = 0; i < cs.size(); ++i) {
            const std::string key = cs.key_at(i);
            if (key.rfind("mup_base_", 0) == 0 && !cs.value_at(i).is_null())
                throw sdk::ConfigConversionError("CS config has " + key +
                                                 ": converting a muP BERT checkpoint to HF is not supported by this "
                                                 "plugin yet");
        }
    }

    /// An old cstorch bug saved the tied word embeddings as None: take them from the MLM
    /// decoder (the Model Zoo's tie handling on CS -> HF; a missing tensor is treated alike).
    void restore_tied_embeddings(const Request& req, ConstNode cs_config, Plan& plan) const
    {
        if (m_variant != Variant::pretrain && m_variant != Variant::roberta)
            return;
        if (!config_flag_or(cs_config, "share_embedding_weights", true))
            return;
        for (const std::string prefix : {"", "model."}) {
            const std::string words = prefix + "bert_encoder.embedding_layer.word_embeddings.weight";
            const std::string decoder = prefix + "bert_mlm_head.classifier.ffn.0.linear_layer.weight";
            if (has_input(plan, decoder) && !has_input(plan, words)) {
                const std::string hf = m_variant == Variant::roberta ? "roberta.embeddings.word_embeddings.weight"
                                                                     : "bert.embeddings.word_embeddings.weight";
                plan.copy(hf, plan.input(decoder));
                req.log(CKPT_LOG_INFO, hf + " restored from " + decoder + " (share_embedding_weights)");
            }
        }
    }

    Variant m_variant;
    std::shared_ptr<const sdk::CheckpointRules> m_rules;
};

} // namespace

std::shared_ptr<sdk::Converter> make_hf_converter(Variant variant, std::vector<std::string> cs_formats)
{
    return std::make_shared<BertHfConverter>(variant, std::move(cs_formats));
}

} // namespace ckpt::bert
