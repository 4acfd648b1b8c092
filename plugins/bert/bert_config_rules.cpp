// SPDX-License-Identifier: Apache-2.0
// BERT and RoBERTa config rules between Hugging Face and Cerebras (spec/mappings.md §2.3 c,
// §2.15): the Model Zoo's ConfigConverter_Bert_HF_CS21/23, the fine-tune heads' and RoBERTa's
// tables, defaults and pre/post steps.
#include "bert.hpp"

namespace ckpt::bert {

using sdk::ConfigAction;
using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::Value;

namespace {

constexpr int kHf = 0;
constexpr int kCs = 1;

std::vector<sdk::Segment> same(const char* key)
{
    return {eq(key, key)};
}

std::string text_of(ConstNode n)
{
    return n.kind() == CKPT_NODE_STRING ? n.as_string() : Value::read(n).str();
}

/// HF `absolute` <-> CS `learned`; nothing else has a counterpart.
ConfigAction convert_position_embedding_type()
{
    return sdk::config_action(
        "convert_position_embedding_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
            const std::string v = text_of(c.src[o]);
            if (c.from == kHf) {
                if (v != "absolute")
                    throw ConfigConversionError("CS model doesn't support HF's position_embedding_type=" + v);
                c.dst.entry(n).set("learned");
                return;
            }
            if (v != "learned")
                throw ConfigConversionError("HF model doesn't support CS's position_embedding_type=" + v);
            c.dst.entry(n).set("absolute");
        });
}

/// HF uses the encoder activation in the MLM head; a different CS one cannot be expressed.
ConfigAction assert_mlm_nonlinearity()
{
    return sdk::config_action(
        "assert_mlm_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string&) {
            if (c.from != kCs)
                return;
            ConstNode mlm = c.src[o];
            if (mlm.is_null())
                return;
            if (Value::read(mlm) != Value::read(c.src["encoder_nonlinearity"]))
                throw ConfigConversionError("HF model doesn't support different encoder & mlm nonlinearities");
        });
}

/// RoBERTa numbers positions after the padding index: HF counts pad_token_id + 1 more slots.
ConfigAction convert_max_pos_embed()
{
    return sdk::config_action(
        "convert_max_pos_embed", [](ConfigContext& c, const std::string& o, const std::string& n) {
            sdk::convert_padded_positions(c, o, n, c.from == kHf ? "HF" : "CS");
        });
}

/// HF `type_vocab_size` <-> CS `num_segments`; CS 0 (no segment embeddings) is HF 1.
ConfigAction convert_num_segments()
{
    return sdk::config_action("convert_num_segments", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const int64_t v = config_int(c.src, o, c.from == kHf ? "HF" : "CS");
        c.dst.entry(n).set(c.from == kCs && v == 0 ? int64_t{1} : v);
    });
}

/// ConfigConverter_Bert_HF_CS21's rows, appended to `rules`.
void add_bert_rules(sdk::ConfigRules& rules)
{
    using sdk::assert_value;
    using sdk::rename_key;
    rules.add(same("model_type"), assert_value(kHf, {Value("bert")}));
    rules.add(same("vocab_size"), rename_key());
    rules.add(same("position_embedding_type"), convert_position_embedding_type());
    rules.add(same("max_position_embeddings"), rename_key());
    rules.add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key());
    rules.add(same("hidden_size"), rename_key());
    rules.add({eq("num_attention_heads", "num_heads")}, rename_key());
    rules.add(same("num_hidden_layers"), rename_key());
    rules.add({eq("intermediate_size", "filter_size")}, rename_key());
    rules.add({eq("hidden_act", "encoder_nonlinearity")}, rename_key());
    rules.add(same("mlm_nonlinearity"), assert_mlm_nonlinearity());
    rules.add(same("pooler_nonlinearity"), assert_value(kCs, {Value("tanh")}));
    rules.add({eq("hidden_dropout_prob", "dropout_rate")}, rename_key());
    rules.add({eq("attention_probs_dropout_prob", "attention_dropout_rate")}, rename_key());
    rules.add(same("disable_nsp"), assert_value(kCs, {Value(false)}));
    rules.add(same("type_vocab_size"), assert_value(kHf, {Value(2)}));
    rules.add(same("is_decoder"), assert_value(kHf, {Value(false)}));
    rules.add(same("add_cross_attention"), assert_value(kHf, {Value(false)}));
    rules.add({eq("layer_norm_eps", "layer_norm_epsilon")}, rename_key());
    rules.add(same("attention_type"), assert_value(kCs, {Value("scaled_dot_product")}));
    for (const char* flag : {"use_projection_bias_in_attention", "use_ffn_bias_in_attention", "use_ffn_bias",
                             "use_ffn_bias_in_mlm", "use_output_bias_in_mlm"})
        rules.add(same(flag), assert_value(kCs, {Value(true)}));
    rules.add(same("initializer_range"), rename_key());
}

const sdk::TableConfigConverter::Defaults& bert_hf_defaults()
{
    static const sdk::TableConfigConverter::Defaults d{{"vocab_size", Value(30522)},
                                                       {"hidden_size", Value(768)},
                                                       {"num_hidden_layers", Value(12)},
                                                       {"num_attention_heads", Value(12)},
                                                       {"intermediate_size", Value(3072)},
                                                       {"hidden_act", Value("gelu")},
                                                       {"hidden_dropout_prob", Value(0.1)},
                                                       {"attention_probs_dropout_prob", Value(0.1)},
                                                       {"max_position_embeddings", Value(512)},
                                                       {"layer_norm_eps", Value(1e-12)},
                                                       {"tie_word_embeddings", Value(true)}};
    return d;
}

class BertConfigConverter : public sdk::TableConfigConverter {
public:
    explicit BertConfigConverter(Variant variant) : m_variant(variant)
    {
        using sdk::assert_value;
        using sdk::rename_key;
        switch (variant) {
        case Variant::sequence_classifier:
            rules.add({eq("classifier_dropout", "task_dropout")}, rename_key());
            rules.add(same("num_labels"), rename_key());
            rules.add(same("problem_type"), rename_key());
            break;
        case Variant::token_classifier:
            rules.add({eq("classifier_dropout", "encoder_output_dropout_rate")}, rename_key());
            rules.add({eq("num_labels", "num_classes")}, rename_key());
            post_defaults[kCs] = {{"loss_weight", Value(1.0)}, {"include_padding_in_loss", Value(false)}};
            break;
        case Variant::question_answering: rules.add(same("num_labels"), assert_value(kHf, {Value(2)})); break;
        case Variant::roberta:
            // RoBERTa's rows come first and shadow BERT's for the same keys.
            rules.add(same("model_type"), assert_value(kHf, {Value("roberta")}));
            rules.add(same("max_position_embeddings"), convert_max_pos_embed());
            rules.add({eq("type_vocab_size", "num_segments")}, convert_num_segments());
            rules.add(same("pad_token_id"), rename_key());
            rules.add(same("mask_padding_in_positional_embed"), assert_value(kCs, {Value(true)}));
            rules.add(same("disable_nsp"), assert_value(kCs, {Value(true)}));
            rules.add(same("mlm_nonlinearity"), assert_value(kCs, {Value("gelu")}));
            break;
        case Variant::pretrain: break;
        }
        add_bert_rules(rules);

        pre_defaults[kHf] = bert_hf_defaults();
        pre_defaults[kCs] = {{"share_embedding_weights", Value(true)}, {"encoder_nonlinearity", Value("gelu")}};
        post_defaults[kHf] = {{"model_type", Value("bert")}};
        if (variant == Variant::pretrain)
            post_defaults[kCs] = {{"freeze_ffn_bias_in_glu", Value(false)}};
        if (variant == Variant::question_answering)
            post_defaults[kHf].push_back({"num_labels", Value(2)});
        if (variant == Variant::roberta) {
            for (auto& [k, v] : pre_defaults[kHf])
                if (k == "vocab_size")
                    v = Value(50265);
            pre_defaults[kHf].push_back({"position_embedding_type", Value("absolute")});
            pre_defaults[kHf].push_back({"type_vocab_size", Value(2)});
            pre_defaults[kHf].push_back({"pad_token_id", Value(1)});
            pre_defaults[kCs].push_back({"disable_nsp", Value(false)});
            pre_defaults[kCs].push_back({"pad_token_id", Value(0)});
            pre_defaults[kCs].push_back({"mask_padding_in_positional_embed", Value(false)});
            post_defaults[kHf] = {{"model_type", Value("roberta")}};
            post_defaults[kCs] = {{"disable_nsp", Value(true)}, {"mask_padding_in_positional_embed", Value(true)}};
        }
        post_defaults[kCs].push_back({"name", Value(registry_name(variant))});
        // Release_2.3.0's HF_CS21 table also writes freeze_ffn_bias_in_glu for cs-2.1 and cs-2.2,
        // whose models do not know it (docs/config-keys-by-release.md); HF cannot freeze, so the
        // value is always the implied False.
        gates = {{"freeze_ffn_bias_in_glu", {2, 3}, {Value(false)}}, sdk::registry_name_gate()};
    }

protected:
    void pre_convert(ConfigContext& c, Node work) const override
    {
        if (c.from == kCs) {
            if (m_variant == Variant::roberta && !work.has("num_segments"))
                work.entry("num_segments").set(int64_t{config_flag_or(work, "disable_nsp", false) ? 0 : 2});
            // Without pooler_nonlinearity CS applies encoder_nonlinearity in the pooler.
            if (!work.has("pooler_nonlinearity")) {
                const std::string act = config_string_or(work, "encoder_nonlinearity", "gelu");
                if (act != "tanh")
                    throw ConfigConversionError("CS Model used a pooler_nonlinearity of " + act +
                                                " according to encoder_nonlinearity. HF only supports tanh in the "
                                                "pooler nonlinearity.");
            }
            return;
        }
        if (m_variant == Variant::sequence_classifier || m_variant == Variant::token_classifier ||
            (m_variant == Variant::question_answering && work.has("id2label")))
            infer_num_labels(work);
        if (m_variant == Variant::sequence_classifier || m_variant == Variant::token_classifier) {
            ConstNode dropout = work["classifier_dropout"];
            if (!dropout.present() || dropout.is_null())
                work.entry("classifier_dropout").assign(work["hidden_dropout_prob"]);
        }
        if (m_variant == Variant::sequence_classifier) {
            ConstNode problem = work["problem_type"];
            if (!problem.present() || problem.is_null()) {
                if (config_int(work, "num_labels", "HF") != 1)
                    throw ConfigConversionError(
                        "Cannot infer the problem_type from num_labels=" + Value::read(work["num_labels"]).str() +
                        ". Please set problem_type to single_label_classification or multi_label_classification "
                        "in the HF config.");
                work.entry("problem_type").set("regression");
            }
        }
    }

    void post_convert(ConfigContext& c) const override
    {
        if (c.from != kHf)
            return;
        c.dst.entry("pooler_nonlinearity").set("tanh");
        if (m_variant == Variant::roberta)
            c.dst.entry("mlm_nonlinearity").set("gelu");
        else if (!c.dst.has("mlm_nonlinearity"))
            c.dst.entry("mlm_nonlinearity").assign(c.dst["encoder_nonlinearity"]);
    }

private:
    /// transformers stores labels as id2label; num_labels is its size (2 when absent).
    static void infer_num_labels(Node work)
    {
        if (work.has("num_labels") && !work["num_labels"].is_null())
            return;
        ConstNode labels = work["id2label"];
        const int64_t n = labels.present() && labels.is_map() ? static_cast<int64_t>(labels.size()) : 2;
        work.entry("num_labels").set(n);
    }

    Variant m_variant;
};

} // namespace

const sdk::TableConfigConverter& hf_cs_config(Variant variant)
{
    static const BertConfigConverter pretrain(Variant::pretrain);
    static const BertConfigConverter sequence(Variant::sequence_classifier);
    static const BertConfigConverter token(Variant::token_classifier);
    static const BertConfigConverter qa(Variant::question_answering);
    static const BertConfigConverter roberta(Variant::roberta);
    switch (variant) {
    case Variant::pretrain: return pretrain;
    case Variant::sequence_classifier: return sequence;
    case Variant::token_classifier: return token;
    case Variant::question_answering: return qa;
    case Variant::roberta: return roberta;
    }
    return pretrain;
}

} // namespace ckpt::bert
