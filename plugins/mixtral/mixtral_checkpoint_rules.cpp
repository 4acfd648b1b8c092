// SPDX-License-Identifier: Apache-2.0
// Mixtral's router and expert tensors between Hugging Face (one w1/w3/w2 per expert) and the
// Cerebras MoE layout (one [out, experts, in] tensor per projection); docs/mappings-esm2-clip-mixtral.md §3.2.
// Experts are joined and split by plan ops that read one expert's rows at a time, so no
// tensor holding every expert is ever built in memory.
#include "mixtral.hpp"

#include <string>
#include <vector>

namespace ckpt::mixtral {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

namespace {

constexpr int kHf = 0;
constexpr int kCs = 1;

const char* const kExpert0 = "block_sparse_moe.experts.0.";

/// CS `moe.num_experts`, checked.
int64_t num_experts(const CheckpointContext& c)
{
    const sdk::ConstNode moe = c.config[kCs]["moe"];
    if (!moe.is_map())
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "CS config has no moe section: cannot convert expert weights");
    const int64_t n = sdk::config_int(moe, "num_experts", "CS moe");
    if (n <= 0 || n > 4096)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "CS config moe.num_experts must be in 1..4096, found " + std::to_string(n));
    return n;
}

/// The HF key of expert `e`, from the key of expert 0.
std::string expert_key(const std::string& expert0_key, int64_t e)
{
    const size_t at = expert0_key.find(kExpert0);
    return expert0_key.substr(0, at) + "block_sparse_moe.experts." + std::to_string(e) + "." +
           expert0_key.substr(at + std::string(kExpert0).size());
}

std::string shape_text(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// convert_expert_weights: HF -> CS stacks every expert's [out, in] along a new axis 1; CS -> HF
/// takes expert e back as [:, e].
CheckpointAction convert_expert_weights()
{
    return {"convert_expert_weights", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const int64_t experts = num_experts(c);
                if (c.from == kHf) {
                    std::vector<ckpt_value_id> parts;
                    std::vector<int64_t> shape;
                    for (int64_t e = 0; e < experts; ++e) {
                        const std::string key = expert_key(o, e);
                        const ckpt_value_id id = sdk::load_scaled(c, key);
                        const sdk::TensorDesc t = c.plan.value_info(id);
                        if (t.shape.size() != 2 || (e > 0 && t.shape != shape))
                            throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + key + "' has shape " + shape_text(t.shape) +
                                                                     (e > 0 ? "; expert 0 has " + shape_text(shape)
                                                                            : "; expected [out, in]"));
                        shape = t.shape;
                        parts.push_back(c.plan.reshape("", id, {shape[0], 1, shape[1]}));
                    }
                    c.plan.concat(n, parts, 1);
                    return;
                }
                const ckpt_value_id id = sdk::load_scaled(c, o);
                const sdk::TensorDesc t = c.plan.value_info(id);
                if (t.shape.size() != 3 || t.shape[1] != experts)
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "' has shape " + shape_text(t.shape) +
                                                             "; expected [out, " + std::to_string(experts) +
                                                             " experts, in] (moe.num_experts)");
                for (int64_t e = 0; e < experts; ++e)
                    c.plan.reshape(expert_key(n, e), c.plan.split("", id, 1, e, experts), {t.shape[0], t.shape[2]});
            }};
}

/// assert_already_converted: experts 1.. of an HF projection were taken with expert 0's.
CheckpointAction taken_with_expert_zero()
{
    return {"assert_already_converted", [](CheckpointContext& c, const std::string& o, const std::string&) {
                const size_t at = o.find("block_sparse_moe.experts.");
                const size_t start = at + std::string("block_sparse_moe.experts.").size();
                const size_t dot = o.find('.', start);
                const int64_t e = std::stoll(o.substr(start, dot - start));
                const int64_t experts = num_experts(c);
                if (e >= experts)
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "' belongs to expert " + std::to_string(e) +
                                                             " but the config has num_local_experts = " +
                                                             std::to_string(experts));
                const std::string first = o.substr(0, at) + kExpert0 + o.substr(dot + 1);
                bool found = false;
                for (size_t i = 0, n = c.plan.input_count(); i < n && !found; ++i)
                    found = c.plan.input_info(i).name == first;
                if (!found)
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "' has no expert-0 counterpart '" + first + "'");
            }};
}

std::shared_ptr<CheckpointRules> layer_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    const auto layer = [] { return eq("layers", "transformer_decoder.layers"); };
    r->add({layer(), re(R"(\.\d+\.)"), eq("block_sparse_moe.gate", "ffn.gate"), re(R"(\.(?:weight|bias))")},
           {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, sdk::load_scaled(c, o));
            }});
    r->add({layer(), re(R"(\.\d+\.)"), eq("block_sparse_moe.experts.0.w1.weight",
                                          "ffn.experts.fused_ffns.0.linear_layer_for_glu.expert_weights")},
           convert_expert_weights());
    r->add({layer(), re(R"(\.\d+\.)"), eq("block_sparse_moe.experts.0.w3.weight",
                                          "ffn.experts.fused_ffns.0.linear_layer.expert_weights")},
           convert_expert_weights());
    r->add({layer(), re(R"(\.\d+\.)"), eq("block_sparse_moe.experts.0.w2.weight",
                                          "ffn.experts.fused_ffns.1.linear_layer.expert_weights")},
           convert_expert_weights());
    r->add({re(R"(layers\.\d+\.block_sparse_moe\.experts\.\d+\.w[123]\.weight)")}, taken_with_expert_zero());
    return r;
}

} // namespace

std::shared_ptr<const CheckpointRules> moe_rules(bool headless)
{
    std::shared_ptr<const CheckpointRules> inner = layer_rules();
    if (!headless) {
        auto lm = std::make_shared<CheckpointRules>();
        lm->add({eq("model.", "")}, inner);
        inner = lm;
    }
    return sdk::with_model_prefix(inner);
}

} // namespace ckpt::mixtral
