// SPDX-License-Identifier: Apache-2.0
// muP folding factors for llama's CS -> HF conversion (Model Zoo mup.py, post- and pre-2.3 forms).
#include "mup_folding.hpp"

#include "llama_family.hpp"

#include <ckptconv/cpp/error.hpp>

#include <cmath>
#include <regex>

namespace ckpt::llama {

namespace {

bool is_set(const sdk::ConstNode& n) { return n.present() && !n.is_null(); }

/// Python truthiness of a config flag that defaults to `fallback` when missing or null.
bool flag(const sdk::ConstNode& cs, const char* key, bool fallback) { return config_bool_or(cs, key, fallback); }

double head_dim(const sdk::ConstNode& cs)
{
    const int64_t heads = config_int(cs, "num_heads", "CS");
    if (heads <= 0)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive for muP folding");
    return static_cast<double>(config_int(cs, "hidden_size", "CS") / heads);
}

} // namespace

MupKind mup_kind(const sdk::ConstNode& cs)
{
    for (size_t i = 0; i < cs.size(); ++i)
        if (cs.key_at(i).rfind("mup_base_", 0) == 0 && !cs.value_at(i).is_null())
            return MupKind::post_cs23;
    const int set = int(is_set(cs["scale_qk_dot_by_d"])) + int(is_set(cs["embeddings_scale"])) +
                    int(is_set(cs["output_logits_scale"]));
    if (set == 3)
        return MupKind::pre_cs23;
    if (set != 0)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "The muP config is incomplete: scale_qk_dot_by_d, embeddings_scale and output_logits_scale "
                         "must all be set (found " + std::to_string(set) + " of 3)");
    return MupKind::none;
}

double mup_scale(const sdk::ConstNode& cs, const std::string& cs_key)
{
    const MupKind kind = mup_kind(cs);
    if (kind == MupKind::none)
        return 1.0;
    static const std::regex k_proj(R"(.+\.proj_k_dense_layer.*)");
    static const std::regex lm_head(R"((?:model\.)?lm_head\.weight)");
    static const std::regex embeddings(
        R"((?:model\.)?embedding_layer\.(?:word_embeddings\.weight|position_embeddings(?:\.embed)?\.weight))");

    if (std::regex_match(cs_key, k_proj)) {
        if (kind == MupKind::pre_cs23)
            return flag(cs, "scale_qk_dot_by_d", false) ? 1.0 / std::sqrt(head_dim(cs)) : 1.0;
        const double alpha = config_float_or(cs, "attention_logits_alpha", 1.0);
        return flag(cs, "scale_qk_dot_by_d", true) ? alpha / std::sqrt(head_dim(cs)) : alpha;
    }
    if (std::regex_match(cs_key, lm_head)) {
        if (kind == MupKind::pre_cs23)
            return config_float_or(cs, "output_logits_scale", 1.0);
        if (!is_set(cs["mup_base_hidden_size"]))
            return 1.0;
        const double base = config_float_or(cs, "mup_base_hidden_size", 0.0);
        if (!(base > 0))
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: mup_base_hidden_size must be positive");
        const double w = static_cast<double>(config_int(cs, "hidden_size", "CS")) / base;
        const double alpha = config_float_or(cs, "output_logits_alpha", 1.0);
        return flag(cs, "scale_output_logits_by_d", true) ? alpha / w : alpha / std::sqrt(w);
    }
    if (std::regex_match(cs_key, embeddings) && is_set(cs["embeddings_scale"]) &&
        !flag(cs, "embedding_layer_norm", false))
        return config_float_or(cs, "embeddings_scale", 1.0);
    return 1.0;
}

} // namespace ckpt::llama
