// SPDX-License-Identifier: Apache-2.0
// muP -> standard parameterisation for GPT-2 on CS -> HF (spec/modelzoo-converter.md §5.1):
// which tensors are scaled by how much, the sP config, and the cs-2.2 -> cs-2.3 config upgrade.
#include "gpt2.hpp"

#include <cmath>
#include <regex>

namespace ckpt::gpt2 {

using sdk::Value;

namespace {

bool set(ConstNode cfg, const char* key) { return cfg[key].present() && !cfg[key].is_null(); }

double number(ConstNode cfg, const char* key, double fallback)
{
    ConstNode n = cfg[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() != CKPT_NODE_INT && n.kind() != CKPT_NODE_FLOAT && n.kind() != CKPT_NODE_BOOL)
        throw sdk::ConfigConversionError("muP config key " + std::string(key) + " = " + Value::read(n).str() +
                                         ": expected a number");
    return n.kind() == CKPT_NODE_BOOL  ? (n.as_bool() ? 1.0 : 0.0)
           : n.kind() == CKPT_NODE_INT ? static_cast<double>(n.as_int())
                                       : n.as_float();
}

bool flag(ConstNode cfg, const char* key, bool fallback)
{
    ConstNode n = cfg[key];
    if (!n.present() || n.is_null())
        return fallback;
    return Value::read(n) == Value(true);
}

double positive(ConstNode cfg, const char* key)
{
    const double v = number(cfg, key, 0.0);
    if (!(v > 0) || !std::isfinite(v))
        throw sdk::ConfigConversionError("muP conversion needs a positive " + std::string(key) + "; the config has " +
                                         (cfg[key].present() ? Value::read(cfg[key]).str() : std::string("none")));
    return v;
}

/// hidden_size // num_heads, as the Model Zoo computes d_head.
double head_dim(ConstNode cfg)
{
    const double hidden = positive(cfg, "hidden_size");
    const double heads = positive(cfg, "num_heads");
    const double d = std::floor(hidden / heads);
    if (!(d > 0))
        throw sdk::ConfigConversionError("muP conversion: hidden_size // num_heads is 0");
    return d;
}

const char* const kPost23Keys[] = {"mup_base_hidden_size", "mup_base_filter_size", "attention_logits_alpha",
                                   "output_logits_alpha",  "scale_output_logits_by_d", "embeddings_scale",
                                   "scale_qk_dot_by_d"};
const char* const kPre23Keys[] = {"scale_qk_dot_by_d", "embeddings_scale", "output_logits_scale"};

} // namespace

MupKind detect_mup(ConstNode cs)
{
    for (size_t i = 0; i < cs.size(); ++i) {
        const std::string key = cs.key_at(i);
        if (key.rfind("mup_base_", 0) == 0 && !cs.value_at(i).is_null())
            return MupKind::post_cs23;
    }
    int present = 0;
    for (const char* k : kPre23Keys)
        present += set(cs, k) ? 1 : 0;
    if (present == 0)
        return MupKind::none;
    if (present < 3)
        throw sdk::ConfigConversionError(
            "The config has some but not all of the pre-cs-2.3 muP keys scale_qk_dot_by_d, embeddings_scale, "
            "output_logits_scale; a muP config needs all three (or mup_base_hidden_size for cs-2.3+ muP)");
    return MupKind::pre_cs23;
}

double mup_factor(ConstNode cs, const std::string& key)
{
    const MupKind kind = detect_mup(cs);
    if (kind == MupKind::none)
        return 1.0;
    static const std::regex k_proj(R"(.+\.proj_k_dense_layer.*)");
    static const std::regex lm_head(R"((?:model\.)?lm_head\.weight)");
    static const std::regex embedding(
        R"((?:model\.)?embedding_layer\.(?:word_embeddings|position_embeddings(?:\.embed)?)\.weight)");
    const bool embedding_ln = flag(cs, "embedding_layer_norm", false);

    if (std::regex_match(key, k_proj)) {
        if (kind == MupKind::post_cs23) {
            const double alpha = number(cs, "attention_logits_alpha", 1.0);
            return flag(cs, "scale_qk_dot_by_d", true) ? alpha / std::sqrt(head_dim(cs)) : alpha;
        }
        return flag(cs, "scale_qk_dot_by_d", false) ? 1.0 / std::sqrt(head_dim(cs)) : 1.0;
    }
    if (std::regex_match(key, lm_head)) {
        if (kind == MupKind::post_cs23) {
            if (!set(cs, "mup_base_hidden_size"))
                return 1.0;
            const double w = positive(cs, "hidden_size") / positive(cs, "mup_base_hidden_size");
            const double alpha = number(cs, "output_logits_alpha", 1.0);
            return flag(cs, "scale_output_logits_by_d", true) ? alpha / w : alpha / std::sqrt(w);
        }
        return number(cs, "output_logits_scale", 1.0);
    }
    if (std::regex_match(key, embedding) && !embedding_ln && set(cs, "embeddings_scale"))
        return number(cs, "embeddings_scale", 1.0);
    return 1.0;
}

void mup_config_to_sp(Node work, MupKind kind)
{
    if (kind == MupKind::none)
        return;
    if (kind == MupKind::post_cs23)
        for (const char* k : kPost23Keys)
            work.erase(k);
    else
        for (const char* k : kPre23Keys)
            work.erase(k);
    // The folded output projection no longer equals the embeddings.
    if (work.has("share_embedding_weights"))
        work.find_mut("share_embedding_weights").set(false);
}

} // namespace ckpt::gpt2
