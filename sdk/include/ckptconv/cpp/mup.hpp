// SPDX-License-Identifier: Apache-2.0
// muP -> standard parametrisation folding of GPT-style CS checkpoints on the way to HF
// (spec/modelzoo-converter.md §5.1): which muP form a CS config uses, the factor each CS tensor
// takes, and the config keys the folding removes.
#pragma once

#include <ckptconv/cpp/family.hpp>

#include <cmath>
#include <regex>
#include <string>

namespace ckpt::sdk {

enum class MupForm {
    none,
    pre_cs23,  // scale_qk_dot_by_d + embeddings_scale + output_logits_scale (cs-2.2 and older)
    post_cs23, // any mup_base_* key set (cs-2.3 and newer)
};

/// Which muP form the CS model section uses. A partial pre-2.3 set is refused, as the Model Zoo
/// refuses it (its ValueError), because folding only some of the factors gives a wrong model.
inline MupForm mup_form(const ConstNode& cs)
{
    for (size_t i = 0; i < cs.size(); ++i)
        if (cs.key_at(i).rfind("mup_base_", 0) == 0 && !cs.value_at(i).is_null())
            return MupForm::post_cs23;
    int set = 0;
    for (const char* k : {"scale_qk_dot_by_d", "embeddings_scale", "output_logits_scale"})
        set += cs[k].present() && !cs[k].is_null() ? 1 : 0;
    if (set == 3)
        return MupForm::pre_cs23;
    if (set != 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT,
                    "The muP config is incomplete: scale_qk_dot_by_d, embeddings_scale and output_logits_scale "
                    "must all be set (found " + std::to_string(set) + " of 3)");
    return MupForm::none;
}

/// The factor by which the GPT-style CS tensor `cs_key` (`model.` prefix allowed) is multiplied
/// when muP is folded into standard parameters: 1.0 when unaffected or not muP.
inline double mup_factor(const ConstNode& cs, const std::string& cs_key)
{
    const MupForm form = mup_form(cs);
    if (form == MupForm::none)
        return 1.0;
    static const std::regex k_proj(R"(.+\.proj_k_dense_layer.*)");
    static const std::regex lm_head(R"((?:model\.)?lm_head\.weight)");
    static const std::regex embeddings(
        R"((?:model\.)?embedding_layer\.(?:word_embeddings\.weight|position_embeddings(?:\.embed)?\.weight))");
    static const std::regex embedding_norm(R"((?:model\.)?embedding_ln_f\.(?:weight|bias))");
    auto head_dim = [&cs] {
        const int64_t heads = config_int(cs, "num_heads", "CS");
        if (heads <= 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: num_heads must be positive for muP folding");
        return static_cast<double>(config_int(cs, "hidden_size", "CS") / heads);
    };
    if (std::regex_match(cs_key, k_proj)) {
        if (form == MupForm::pre_cs23)
            return config_flag_or(cs, "scale_qk_dot_by_d", false, "CS") ? 1.0 / std::sqrt(head_dim()) : 1.0;
        const double alpha = config_float_or(cs, "attention_logits_alpha", 1.0, "CS");
        return config_flag_or(cs, "scale_qk_dot_by_d", true, "CS") ? alpha / std::sqrt(head_dim()) : alpha;
    }
    if (std::regex_match(cs_key, lm_head)) {
        if (form == MupForm::pre_cs23)
            return config_float_or(cs, "output_logits_scale", 1.0, "CS");
        if (detail::unset(cs["mup_base_hidden_size"]))
            return 1.0;
        const double base = config_float_or(cs, "mup_base_hidden_size", 0.0, "CS");
        if (!(base > 0))
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "CS config: mup_base_hidden_size must be positive");
        const double width = static_cast<double>(config_int(cs, "hidden_size", "CS")) / base;
        const double alpha = config_float_or(cs, "output_logits_alpha", 1.0, "CS");
        return config_flag_or(cs, "scale_output_logits_by_d", true, "CS") ? alpha / width : alpha / std::sqrt(width);
    }
    if (detail::unset(cs["embeddings_scale"]))
        return 1.0;
    const bool normed = config_flag_or(cs, "embedding_layer_norm", false, "CS");
    if ((!normed && std::regex_match(cs_key, embeddings)) || (normed && std::regex_match(cs_key, embedding_norm)))
        return config_float_or(cs, "embeddings_scale", 1.0, "CS");
    return 1.0;
}

/// The CS model keys muP folding removes (their effect is in the weights afterwards).
inline const std::vector<std::string>& mup_config_keys()
{
    static const std::vector<std::string> keys{"mup_base_hidden_size", "mup_base_filter_size",
                                               "attention_logits_alpha", "output_logits_alpha",
                                               "scale_output_logits_by_d", "embeddings_scale",
                                               "scale_qk_dot_by_d", "output_logits_scale"};
    return keys;
}

} // namespace ckpt::sdk
