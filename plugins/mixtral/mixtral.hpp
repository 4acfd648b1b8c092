// SPDX-License-Identifier: Apache-2.0
// What the mixtral plugin's files share: the config converter (the llama table with the
// mixture-of-experts and sliding-window rows in front), the expert tensor rules and the converter.
#pragma once

#include <ckptconv/cpp/llama_style.hpp>
#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ckpt::mixtral {

/// The Model Zoo registry name, written as `name` into cs-2.4+ configs (both model names).
inline constexpr const char* kRegistryName = "mixtral";

/// "MixtralForCausalLM" or "MixtralModel".
inline const char* hf_class(bool headless) { return headless ? "MixtralModel" : "MixtralForCausalLM"; }

/// ConfigConverter_Mixtral_HF_CS23: ConfigConverter_LLaMa_HF_CS21 with model_type `mixtral`,
/// behind the rows for `sliding_window` and the expert settings (`moe`).
class MixtralConfigConverter : public sdk::LlamaStyleConfig {
public:
    explicit MixtralConfigConverter(bool headless);

protected:
    void post_convert(sdk::ConfigContext& ctx) const override;
};

/// The router and expert rows of a Mixtral layer, HF (side 0) <-> CS (side 1): HF's per-expert
/// `block_sparse_moe.experts.N.w1/w3/w2` <-> CS `ffn.experts.fused_ffns.{0,1}.*.expert_weights`
/// of shape [out, experts, in], built and taken apart one expert at a time. HF keys under
/// `model.` unless `headless`; CS keys with or without the legacy `model.` prefix.
std::shared_ptr<const sdk::CheckpointRules> moe_rules(bool headless);

/// Adds the MixtralModel tensor shapes `hf_config` implies to `s`.
void expect_mixtral_shapes(sdk::ModelShapes& s, sdk::ConstNode hf_config);

/// hf <-> cs-2.3 ... cs-2.9 for MixtralForCausalLM (Converter_MixtralForCausalLM_HF_CS23) or
/// MixtralModel (Converter_MixtralModel_HF_CS23).
std::shared_ptr<sdk::Converter> make_hf_converter(bool headless);

} // namespace ckpt::mixtral
