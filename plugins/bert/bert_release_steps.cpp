// SPDX-License-Identifier: Apache-2.0
// The bert family's own Cerebras release steps (spec/mappings.md §3): cs-1.6 -> 1.7/1.8+ full
// rename, cs-1.7 <-> 1.8 nonlinearity keys, cs-1.8/1.9 -> 2.0 tie repair, cs-2.0 -> 2.1
// position-embedding renames. The host's generic steps cover every other release pair.
#include "bert.hpp"

namespace ckpt::bert {

using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::re;
using sdk::Value;

namespace {

const char* const kAllClasses =
    "BertForPreTraining, BertForSequenceClassification, BertForQuestionAnswering, and BertForSummarization classes";

/// Copies the model section except `skip` keys.
void copy_except(ConstNode src, Node dst, std::initializer_list<const char*> skip)
{
    for (size_t i = 0; i < src.size(); ++i) {
        const std::string key = src.key_at(i);
        bool skipped = false;
        for (const char* s : skip)
            skipped = skipped || key == s;
        if (!skipped)
            dst.entry(key).assign(src.value_at(i));
    }
}

std::shared_ptr<const CheckpointRules> copy_everything()
{
    static const auto rules = [] {
        auto r = std::make_shared<CheckpointRules>();
        r->add({re(".*")}, sdk::copy_tensor());
        return r;
    }();
    return rules;
}

void run_rules(const CheckpointRules& rules, const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan)
{
    CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
    sdk::apply_rules(rules, ctx);
}

/// Converter_BertPretrainModel_CS16_CS17/_CS18 and Converter_BertFinetuneModel_CS16_CS17/_CS18:
/// cs-1.6 still used the HF-like names.
class Cs16Converter : public sdk::Converter {
public:
    Cs16Converter(bool finetune, bool to_cs17)
        : Converter({"cs-1.6"},
                    to_cs17 ? std::vector<std::string>{"cs-1.7"}
                            : std::vector<std::string>{"cs-1.8", "cs-1.9", "cs-2.0"},
                    finetune ? "BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering, "
                               "and BertForSummarization classes"
                             : "BertPretrainModel class"),
          m_to_cs17(to_cs17)
    {
        const CsKeys keys = to_cs17 ? CsKeys::cs17 : CsKeys::cs18;
        m_rules = finetune ? finetune_cs16_rules(keys) : hf_cs_rules(Variant::pretrain, keys);
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        // cs-1.6 had cs-1.7's model keys; a cs-1.8+ side has the nonlinearity keys.
        if (m_to_cs17)
            copy_except(src, dst, {});
        else if (req.direction == 0)
            upgrade_nonlinearities_cs17_to_cs18(src, dst);
        else
            downgrade_nonlinearities_cs18_to_cs17(src, dst, req.tgt_fmt);
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        run_rules(*m_rules, req, cfg0, cfg1, plan);
    }

private:
    bool m_to_cs17;
    std::shared_ptr<const CheckpointRules> m_rules;
};

/// Converter_Bert_CS17_CS18: cs-1.8 added pooler_nonlinearity and mlm_nonlinearity.
class Cs17Cs18 : public sdk::Converter {
public:
    Cs17Cs18() : Converter({"cs-1.7"}, {"cs-1.8", "cs-1.9", "cs-2.0"}, kAllClasses) {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0)
            upgrade_nonlinearities_cs17_to_cs18(src, dst);
        else
            downgrade_nonlinearities_cs18_to_cs17(src, dst, req.tgt_fmt);
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        run_rules(*copy_everything(), req, cfg0, cfg1, plan);
    }
};

/// Converter_Bert_CS18_CS20: repairs the tie between the word embeddings and the MLM decoder.
class Cs18Cs20 : public sdk::Converter {
public:
    Cs18Cs20() : Converter({"cs-1.8", "cs-1.9"}, {"cs-2.0"}, "BertForPreTraining class") {}

    void convert_config(const Request&, ConstNode src, Node dst) override { copy_except(src, dst, {}); }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        run_rules(*copy_everything(), req, cfg0, cfg1, plan);
        if (!config_flag_or(req.direction == 0 ? cfg0 : cfg1, "share_embedding_weights", true))
            return;
        for (const std::string prefix : {"", "model."}) {
            const std::string a = prefix + "bert_encoder.embedding_layer.word_embeddings.weight";
            const std::string b = prefix + "bert_mlm_head.classifier.ffn.0.linear_layer.weight";
            const bool has_a = has_input(plan, a), has_b = has_input(plan, b);
            if (has_a == has_b)
                continue;
            const std::string& from = has_a ? a : b;
            const std::string& to = has_a ? b : a;
            plan.copy(to, plan.input(from));
            req.log(CKPT_LOG_INFO, to + " restored from " + from + " (share_embedding_weights)");
        }
    }
};

/// Converter_Bert_CS20_CS21: the embedding refactor of cs-2.1.
class Cs20Cs21 : public sdk::Converter {
public:
    Cs20Cs21() : Converter({"cs-2.0"}, {"cs-2.1"}, kAllClasses)
    {
        auto r = std::make_shared<CheckpointRules>();
        const char* prefix = R"((?:model\.)?(?:bert_encoder|bert)\.)";
        r->add({re(prefix),
                eq("embedding_layer.position_embeddings.weight", "embedding_layer.position_embeddings.embed.weight")},
               sdk::copy_tensor());
        r->add({re(prefix), eq("embedding_layer.position_embeddings", "embedding_layer.position_embeddings.fpe")},
               sdk::copy_tensor());
        r->add({re(".*")}, sdk::copy_tensor());
        m_rules = r;
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            copy_except(src, dst, {"use_bfloat16"});
            if (src.has("use_bfloat16") && !dst.has("fp16_type"))
                dst.entry("fp16_type").set(config_flag_or(src, "use_bfloat16", false) ? "bfloat16" : "float16");
            return;
        }
        copy_except(src, dst, {"fp16_type"});
        if (!src.has("fp16_type"))
            return;
        const std::string t = config_string_or(src, "fp16_type", "");
        if (t != "bfloat16" && t != "cbfloat16" && t != "float16")
            throw ConfigConversionError("Can't convert config with fp16_type=" + t +
                                        " to cs-2.0. Only ['bfloat16', 'cbfloat16', 'float16'] is supported.");
        dst.entry("use_bfloat16").set(t != "float16");
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        run_rules(*m_rules, req, cfg0, cfg1, plan);
    }

private:
    std::shared_ptr<const CheckpointRules> m_rules;
};

} // namespace

void upgrade_nonlinearities_cs17_to_cs18(ConstNode src, Node dst)
{
    copy_except(src, dst, {});
    // cs-1.7 applied the encoder activation in the pooler and gelu in the MLM head.
    if (!dst.has("pooler_nonlinearity")) {
        if (src.has("encoder_nonlinearity"))
            dst.entry("pooler_nonlinearity").assign(src["encoder_nonlinearity"]);
        else
            dst.entry("pooler_nonlinearity").set("gelu");
    }
    if (!dst.has("mlm_nonlinearity"))
        dst.entry("mlm_nonlinearity").set("gelu");
}

void downgrade_nonlinearities_cs18_to_cs17(ConstNode src, Node dst, const std::string& target)
{
    const Value encoder = src.has("encoder_nonlinearity") ? Value::read(src["encoder_nonlinearity"]) : Value("gelu");
    ConstNode pooler = src["pooler_nonlinearity"];
    if (pooler.present() && !pooler.is_null() && Value::read(pooler) != encoder)
        throw ConfigConversionError("Can't convert config with pooler_nonlinearity=" + Value::read(pooler).str() +
                                    " to " + target + ": " + target + " uses encoder_nonlinearity=" + encoder.str() +
                                    " in the pooler.");
    ConstNode mlm = src["mlm_nonlinearity"];
    if (mlm.present() && !mlm.is_null()) {
        if (Value::read(mlm) != Value("gelu"))
            throw ConfigConversionError("Can't convert config with mlm_nonlinearity=" + Value::read(mlm).str() +
                                        " to " + target + ". Only gelu is supported.");
    } else if (encoder != Value("gelu")) {
        throw ConfigConversionError(
            "Can't convert config with encoder_nonlinearity=" + encoder.str() + " and no mlm_nonlinearity to " +
            target + ": cs-1.8 uses the encoder_nonlinearity in the MLM head while " + target + " only supports gelu.");
    }
    copy_except(src, dst, {"pooler_nonlinearity", "mlm_nonlinearity"});
}

std::shared_ptr<sdk::Converter> make_cs16_converter(bool finetune, bool to_cs17)
{
    return std::make_shared<Cs16Converter>(finetune, to_cs17);
}
std::shared_ptr<sdk::Converter> make_cs17_cs18()
{
    return std::make_shared<Cs17Cs18>();
}
std::shared_ptr<sdk::Converter> make_cs18_cs20()
{
    return std::make_shared<Cs18Cs20>();
}
std::shared_ptr<sdk::Converter> make_cs20_cs21()
{
    return std::make_shared<Cs20Cs21>();
}

} // namespace ckpt::bert
