// SPDX-License-Identifier: Apache-2.0
// The hf <-> cs-2.1 ... cs-2.9 converter for one llama-family variant (the Model Zoo's
// Converter_{Llama,Mistral}{ForCausalLM,Model}_HF_CS21).
#pragma once

#include "llama_config_rules.hpp"
#include "llama_family.hpp"

#include <ckptconv/cpp/rules.hpp>

#include <memory>

namespace ckpt::llama {

class LlamaHfCs : public sdk::Converter {
public:
    explicit LlamaHfCs(Variant variant);

    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override;
    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                         sdk::Plan& plan) override;

    /// The `list` note, as the Model Zoo prints it.
    static std::string note_for(Variant variant);

private:
    /// HF LlamaModel has no head but CS always has one: add it (tied: the embedding; else random).
    void add_lm_head(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config, sdk::Plan& plan) const;

    Variant m_variant;
    LlamaConfigConverter m_config;
    std::shared_ptr<const sdk::CheckpointRules> m_rules;
};

} // namespace ckpt::llama
