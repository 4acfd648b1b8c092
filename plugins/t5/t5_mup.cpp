// SPDX-License-Identifier: Apache-2.0
// T5 muP -> standard parameterisation on CS -> HF (Converter_T5_sP_muP and its config
// converter, Model Zoo 2.10 semantics; spec/modelzoo-converter.md §5.1): detection, the factor
// each Cerebras tensor is multiplied by, and the sP config.
#include "t5.hpp"

#include <cmath>
#include <regex>

namespace ckpt::t5 {

using sdk::Value;

namespace {

/// A positive number from the muP config; `fallback` when absent or null.
double number_or(ConstNode cs, const char* key, double fallback)
{
    ConstNode n = cs[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() != CKPT_NODE_INT && n.kind() != CKPT_NODE_FLOAT)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, std::string("CS config: '") + key + "' must be a number for the muP fold, found " +
                                                 Value::read(n).str());
    const double v = n.as_float();
    if (!std::isfinite(v) || v <= 0)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, std::string("CS config: '") + key +
                                                 "' must be a positive number for the muP fold, found " +
                                                 Value::read(n).str());
    return v;
}

double required(ConstNode cs, const char* key)
{
    if (!cs.has(key) || cs[key].is_null())
        throw sdk::Error(CKPT_ERR_BAD_INPUT, std::string("CS config: the muP fold needs '") + key + "', which is missing");
    return number_or(cs, key, 0);
}

/// Python truthiness of an optional key (absent, null, false, 0 and "" are false).
bool truthy(ConstNode cs, const char* key)
{
    ConstNode n = cs[key];
    if (!n.present() || n.is_null())
        return false;
    const Value v = Value::read(n);
    return v != Value(false) && v != Value("");
}

bool flag_default(ConstNode cs, const char* key, bool fallback)
{
    ConstNode n = cs[key];
    return (!n.present() || n.is_null()) ? fallback : truthy(cs, key);
}

const char* const kMupConfigKeys[] = {"mup_base_d_model",
                                      "mup_base_d_ff",
                                      "mup_base_d_kv",
                                      "encoder_attention_logits_alpha",
                                      "decoder_attention_logits_alpha",
                                      "output_logits_alpha",
                                      "scale_output_logits_by_d",
                                      "embeddings_alpha",
                                      "scale_encoder_qk_dot_by_d",
                                      "scale_decoder_qk_dot_by_d"};

} // namespace

bool is_mup(ConstNode cs)
{
    for (size_t i = 0; cs.is_map() && i < cs.size(); ++i)
        if (cs.key_at(i).rfind("mup_base_", 0) == 0 && !cs.value_at(i).is_null())
            return true;
    return false;
}

double mup_factor(ConstNode cs, const std::string& key)
{
    static const std::regex q(R"(.+\.proj_q_dense_layer.*)"), enc_k(R"(.*encoder.*proj_k_dense_layer.*)"),
        dec_k(R"(.*decoder.*proj_k_dense_layer.*)"), v(R"(.+\.proj_v_dense_layer.*)"),
        out(R"(.+\.proj_output_dense_layer.*)"), lm_head(R"((?:model\.|)lm_head\.weight)"),
        embeddings(R"((?:model\.|).*embeddings\.word_embeddings\.weight)");
    const bool mup = is_mup(cs);
    const bool attention = std::regex_match(key, q) || std::regex_match(key, enc_k) || std::regex_match(key, dec_k) ||
                           std::regex_match(key, v) || std::regex_match(key, out);
    if (attention || (std::regex_match(key, lm_head) && truthy(cs, "mup_base_d_model"))) {
        const double d_model = required(cs, "d_model");
        const double width = d_model / number_or(cs, "mup_base_d_model", d_model);
        const bool per_head_base = truthy(cs, "mup_base_d_kv");
        if (std::regex_match(key, lm_head)) {
            const double alpha = number_or(cs, "output_logits_alpha", 1.0);
            return flag_default(cs, "scale_output_logits_by_d", false) ? alpha / width : alpha / std::sqrt(width);
        }
        const double projection = per_head_base ? 1.0 : 1.0 / std::sqrt(width);
        if (std::regex_match(key, q))
            return projection / std::sqrt(required(cs, "d_kv"));
        for (const char* stack : {"encoder", "decoder"}) {
            if (!std::regex_match(key, stack[0] == 'e' ? enc_k : dec_k))
                continue;
            const std::string s(stack);
            const double alpha = number_or(cs, (s + "_attention_logits_alpha").c_str(), 1.0);
            const bool by_d = flag_default(cs, ("scale_" + s + "_qk_dot_by_d").c_str(), mup);
            return by_d ? alpha * projection / std::sqrt(required(cs, "d_kv")) : alpha * projection;
        }
        if (std::regex_match(key, v))
            return projection;
        return per_head_base ? 1.0 : std::sqrt(width); // output projection
    }
    if (std::regex_match(key, lm_head))
        return 1.0;
    if (std::regex_match(key, embeddings) && mup) {
        const double alpha = truthy(cs, "embeddings_alpha") ? number_or(cs, "embeddings_alpha", 1.0) : 1.0;
        return alpha * std::sqrt(required(cs, "d_model"));
    }
    return 1.0;
}

void mup_config_to_sp(Node work)
{
    const bool untie = is_mup(work) || work.has("embeddings_alpha");
    for (const char* key : kMupConfigKeys)
        work.erase(key);
    // Only when stated: the HF converter's own default (tied) fills it in otherwise, as upstream.
    if (untie && work.has("share_embedding_weights"))
        work.find_mut("share_embedding_weights").set(false);
}

} // namespace ckpt::t5
