// SPDX-License-Identifier: Apache-2.0
// Family facts and config readers shared by the bert plugin's converters.
#include "bert.hpp"

#include <ckptconv/cpp/error.hpp>

#include <cmath>
#include <cstdio>

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

int cs_version(const std::string& fmt)
{
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2 || major < 0 || minor < 0 || minor > 99)
        return -1;
    return major * 100 + minor;
}

std::vector<std::string> cs_formats_from(int first_minor)
{
    std::vector<std::string> out;
    for (int m = first_minor; m <= 9; ++m)
        out.push_back("cs-2." + std::to_string(m));
    return out;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string s;
    for (const auto& i : items)
        s += (s.empty() ? "" : ", ") + i;
    return s;
}

std::string config_string_or(ConstNode config, const std::string& key, const std::string& fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() != CKPT_NODE_STRING)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "config key '" + key + "': expected a string, found " + sdk::Value::read(n).str());
    return n.as_string();
}

bool config_bool_or(ConstNode config, const std::string& key, bool fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int() != 0;
    if (n.kind() != CKPT_NODE_BOOL)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "config key '" + key + "': expected a boolean, found " + sdk::Value::read(n).str());
    return n.as_bool();
}

int64_t config_int_or(ConstNode config, const std::string& key, int64_t fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    return config_int(config, key, "the");
}

int64_t config_int(ConstNode config, const std::string& key, const char* side)
{
    ConstNode n = config[key];
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int();
    if (n.kind() == CKPT_NODE_FLOAT) {
        const double v = n.as_float();
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
            return static_cast<int64_t>(v);
    }
    throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, std::string(side) + " config key '" + key +
                                                    "': expected an integer, found " +
                                                    (n.present() ? sdk::Value::read(n).str() : "nothing"));
}

} // namespace ckpt::bert
