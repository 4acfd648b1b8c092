// SPDX-License-Identifier: Apache-2.0
// The CS -> CS release steps llama needs beyond the host's generic ones (spec/mappings.md §3):
// cs-1.9 <-> cs-2.0 (tie repair, use_rms_norm <-> norm_type) and cs-2.0 <-> cs-2.1 (embedding
// layer renames). Both are GPT2LMHeadModel steps; llama has no position-embedding tensors, so
// the renames only matter for checkpoints that carry them anyway.
#pragma once

#include <ckptconv/cpp/rules.hpp>

#include <memory>

namespace ckpt::llama {

/// Converter_LlamaForCausalLM_CS19_CS20.
class LlamaCs19Cs20 : public sdk::Converter {
public:
    LlamaCs19Cs20();
    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override;
    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode cs19, sdk::ConstNode cs20, sdk::Plan& plan) override;

private:
    std::shared_ptr<const sdk::CheckpointRules> m_rules;
};

/// Converter_LlamaForCausalLM_CS20_CS21.
class LlamaCs20Cs21 : public sdk::Converter {
public:
    LlamaCs20Cs21();
    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override;
    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode cs20, sdk::ConstNode cs21, sdk::Plan& plan) override;

private:
    std::shared_ptr<const sdk::CheckpointRules> m_rules;
};

} // namespace ckpt::llama
