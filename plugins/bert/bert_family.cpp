// SPDX-License-Identifier: Apache-2.0
// Family facts and config readers shared by the bert plugin's converters.
#include "bert.hpp"

#include <ckptconv/cpp/error.hpp>

namespace ckpt::bert {

std::string hf_class(Variant v)
{
    switch (v) {
    case Variant::pretrain: return "BertForPreTraining";
    case Variant::sequence_classifier: return "BertForSequenceClassification";
    case Variant::token_classifier: return "BertForTokenClassification";
    case Variant::question_answering: return "BertForQuestionAnswering";
    case Variant::roberta: return "RobertaForMaskedLM";
    }
    return "";
}

std::string registry_name(Variant v)
{
    switch (v) {
    case Variant::sequence_classifier: return "bert/classifier";
    case Variant::token_classifier: return "bert/token_classifier";
    // bert-qa has no registry entry in 2.10 (spec §5.8); its CS model is the BERT one.
    default: return "bert";
    }
}

int64_t config_int_or(ConstNode config, const std::string& key, int64_t fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    return config_int(config, key, "the");
}

} // namespace ckpt::bert
