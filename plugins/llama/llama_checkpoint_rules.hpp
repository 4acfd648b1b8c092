// SPDX-License-Identifier: Apache-2.0
// The llama/mistral tensor-name table between Hugging Face and CS checkpoints (spec/mappings.md
// §2.2 b): renames, rotary interleave of q/k (MHA and GQA) and q/k norms, final norm written
// twice, dropped buffers, the optional legacy `model.` prefix on CS keys, and muP folding.
#pragma once

#include <ckptconv/cpp/rules.hpp>

#include <memory>

namespace ckpt::llama {

/// The rules for LlamaForCausalLM (`headless` false: HF keys under `model.` plus `lm_head`) or
/// LlamaModel (`headless` true: HF keys without prefix; CS `lm_head` dropped towards HF).
/// Side 0 is HF, side 1 CS; actions read the CS model section from `config[1]`.
std::shared_ptr<const sdk::CheckpointRules> hf_cs_rules(bool headless);

/// The rows of LlamaModel alone (HF keys without `model.`, CS keys below the decoder's own
/// prefix), for models that hold a llama under a prefix of their own (plugins/llava).
std::shared_ptr<sdk::CheckpointRules> model_rules();

/// The value a rule action reads for `old_key`: the source tensor, multiplied by its muP folding
/// factor when converting a muP CS checkpoint to HF.
ckpt_value_id load(sdk::CheckpointContext& ctx, const std::string& old_key);

} // namespace ckpt::llama
