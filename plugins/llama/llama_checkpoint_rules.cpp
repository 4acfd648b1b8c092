// SPDX-License-Identifier: Apache-2.0
// Rule table and custom actions for llama/mistral checkpoints.
#include "llama_checkpoint_rules.hpp"

#include "llama_family.hpp"
#include "mup_folding.hpp"
#include "rotary_interleave.hpp"

namespace ckpt::llama {

namespace {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

constexpr int kHf = 0;
constexpr int kCs = 1;
const char* const kWeightOrBias = R"(\.(?:weight|bias))";

int64_t rank_checked(CheckpointContext& c, ckpt_value_id id, const std::string& key, size_t lo, size_t hi)
{
    const size_t rank = c.plan.value_info(id).shape.size();
    if (rank < lo || rank > hi)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                         "tensor " + key + ": expected " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " or " + std::to_string(hi)) +
                             " dimensions for the rotary interleave, found " + std::to_string(rank));
    return c.plan.value_info(id).shape.empty() ? 0 : c.plan.value_info(id).shape[0];
}

/// Interleaves (HF -> CS) or un-interleaves (CS -> HF) a projection made of `heads` heads.
void permute_projection(CheckpointContext& c, const std::string& o, const std::string& n, int64_t heads)
{
    const sdk::ConstNode cs = c.config[kCs];
    const ckpt_value_id id = load(c, o);
    const int64_t rows = rank_checked(c, id, o, 1, 2);
    c.plan.row_permute(n, id, projection_rows(o, rows, heads, config_int(cs, "rotary_dim", "CS"), c.from == kHf));
}

CheckpointAction replace_key()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, load(c, o));
            }};
}

/// The Model Zoo 2.3 name of the o_proj action (it also re-created rotary_emb.inv_freq on the
/// way to HF; current transformers no longer stores that buffer, so we only copy).
CheckpointAction convert_output_and_inv_freq()
{
    return {"convert_output_and_inv_freq", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, load(c, o));
            }};
}

/// CS keeps the final norm twice (a cs-1.7 legacy): transformer_decoder.norm.* and ln_f.*.
CheckpointAction replace_final_norm()
{
    return {"replace_final_norm", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = load(c, o);
                c.plan.copy(n, id);
                if (c.from == kHf) {
                    const std::string from = "transformer_decoder.norm.";
                    const size_t at = n.find(from);
                    if (at != std::string::npos)
                        c.plan.copy(n.substr(0, at) + "ln_f." + n.substr(at + from.size()), id);
                }
            }};
}

CheckpointAction convert_with_interleaving_query()
{
    return {"convert_with_interleaving_query", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                permute_projection(c, o, n, config_int(c.config[kCs], "num_heads", "CS"));
            }};
}

/// Keys have num_heads heads (MHA) or num_kv_groups heads (GQA/MQA).
CheckpointAction convert_with_interleaving_key()
{
    return {"convert_with_interleaving_key", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const sdk::ConstNode cs = c.config[kCs];
                const std::string mod = config_string_or(cs, "attention_module", "aiayn_attention");
                if (mod == "aiayn_attention")
                    permute_projection(c, o, n, config_int(cs, "num_heads", "CS"));
                else if (mod == "multiquery_attention")
                    permute_projection(c, o, n, config_int(cs["extra_attention_params"], "num_kv_groups",
                                                           "CS extra_attention_params"));
                else
                    throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "attention_module " + mod + " is not supported for llama");
            }};
}

/// Per-head q/k RMSNorm weights (1-D, one head long) follow the rotary layout of q and k.
CheckpointAction convert_with_interleaving_norm()
{
    return {"convert_with_interleaving_norm", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = load(c, o);
                const int64_t len = rank_checked(c, id, o, 1, 1);
                c.plan.row_permute(n, id, norm_rows(o, len, config_int(c.config[kCs], "rotary_dim", "CS"), c.from == kHf));
            }};
}

} // namespace

/// The rows of LlamaModel (HF keys without `model.`), in the Model Zoo's order.
std::shared_ptr<CheckpointRules> model_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    const auto layer = [] { return eq("layers", "transformer_decoder.layers"); };
    const sdk::Segment wb = re(kWeightOrBias);
    r->add({eq("embed_tokens", "embedding_layer.word_embeddings"), wb}, replace_key());
    r->add({eq("norm", "transformer_decoder.norm"), wb}, replace_final_norm());
    r->add({layer(), re(R"(\.\d+\.self_attn\.)"), eq("q_proj", "proj_q_dense_layer"), wb}, convert_with_interleaving_query());
    r->add({layer(), re(R"(\.\d+\.self_attn\.)"), eq("k_proj", "proj_k_dense_layer"), wb}, convert_with_interleaving_key());
    r->add({layer(), re(R"(\.\d+\.self_attn\.)"), eq("v_proj", "proj_v_dense_layer"), wb}, replace_key());
    r->add({layer(), re(R"(\.\d+\.self_attn\.)"), eq("o_proj", "proj_output_dense_layer"), wb}, convert_output_and_inv_freq());
    r->add({layer(), re(R"(\.\d+\.self_attn\.k_norm)"), wb}, convert_with_interleaving_norm());
    r->add({layer(), re(R"(\.\d+\.self_attn\.q_norm)"), wb}, convert_with_interleaving_norm());
    r->add({re(R"(layers\.\d+\.self_attn\.rotary_emb\.inv_freq)")}, sdk::drop_tensor());
    r->add({layer(), re(R"(\.\d+\.)"), eq("input_layernorm", "norm1"), wb}, replace_key());
    r->add({layer(), re(R"(\.\d+\.)"), eq("post_attention_layernorm", "norm3"), wb}, replace_key());
    r->add({layer(), re(R"(\.\d+\.)"), eq("mlp.up_proj", "ffn.ffn.0.linear_layer"), wb}, replace_key());
    r->add({layer(), re(R"(\.\d+\.)"), eq("mlp.gate_proj", "ffn.ffn.0.linear_layer_for_glu"), wb}, replace_key());
    r->add({layer(), re(R"(\.\d+\.)"), eq("mlp.down_proj", "ffn.ffn.1.linear_layer"), wb}, replace_key());
    r->add({re(R"(lm_head\.(?:weight|bias))")}, sdk::drop_tensor());
    r->add({re(R"(ln_f\.(?:weight|bias))")}, sdk::drop_tensor());
    return r;
}

ckpt_value_id load(CheckpointContext& ctx, const std::string& old_key)
{
    const ckpt_value_id id = ctx.plan.input(old_key);
    if (ctx.from != kCs)
        return id;
    const double f = mup_scale(ctx.config[kCs], old_key);
    return f == 1.0 ? id : ctx.plan.scale("", id, f);
}

std::shared_ptr<const CheckpointRules> hf_cs_rules(bool headless)
{
    std::shared_ptr<const CheckpointRules> inner;
    if (headless) {
        inner = model_rules();
    } else {
        auto lm = std::make_shared<CheckpointRules>();
        lm->add({re(R"(lm_head\.(?:weight|bias))")}, replace_key());
        lm->add({eq("model.", "")}, std::shared_ptr<const CheckpointRules>(model_rules()));
        inner = lm;
    }
    // CS keys may carry the legacy PyTorchBaseModel `model.` prefix; HF -> CS never writes it.
    auto top = std::make_shared<CheckpointRules>();
    top->add(std::vector<sdk::Segment>{}, inner);
    top->add({eq("", "model.")}, inner);
    return top;
}

} // namespace ckpt::llama
