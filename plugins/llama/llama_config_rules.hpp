// SPDX-License-Identifier: Apache-2.0
// The llama/mistral config table between Hugging Face config.json and the CS `model:` section
// (the Model Zoo's ConfigConverter_LLaMa_HF_CS21 / ConfigConverter_Mistral_HF_CS21).
#pragma once

#include "llama_family.hpp"

#include <ckptconv/cpp/rules.hpp>

namespace ckpt::llama {

/// HF (side 0) <-> CS cs-2.1+ (side 1) config conversion for one variant. Beyond the Model Zoo it
/// writes what current tools expect into HF output (`architectures`, `torch_dtype`; design.md §5)
/// and, for HF -> cs-2.1 ... cs-2.3, the Model Zoo 2.3 post-default `mixed_precision: true`.
class LlamaConfigConverter : public sdk::TableConfigConverter {
public:
    explicit LlamaConfigConverter(Variant variant);

protected:
    void pre_convert(sdk::ConfigContext& ctx, sdk::Node work) const override;
    void post_convert(sdk::ConfigContext& ctx) const override;

private:
    Variant m_variant;
};

} // namespace ckpt::llama
