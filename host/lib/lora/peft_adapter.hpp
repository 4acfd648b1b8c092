// SPDX-License-Identifier: Apache-2.0
// Hugging Face PEFT LoRA adapters (adapter_config.json + adapter_model.*) merged into a base state dict.
#pragma once

#include "core/node.hpp"
#include "core/tensor.hpp"
#include "plugins/plugin_loader.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::lora {

/// The base tensors with every adapter of `adapters` (directories, applied in order, all summed
/// before one rounding) merged as PEFT's merge_and_unload does: for each adapted module
/// `<m>` (adapter keys `base_model.model.<m>.lora_A.weight` / `.lora_B.weight`, or
/// `.lora_embedding_A` / `.lora_embedding_B` for an embedding), `<m>.weight` +=
/// scaling * T(B @ A), scaling = lora_alpha / r (lora_alpha / sqrt(r) with use_rslora), r and
/// lora_alpha from rank_pattern / alpha_pattern where a pattern matches the module. T transposes
/// for embeddings and for GPT-2's Conv1D layers (their weight is stored fan-in first; found by
/// shape, and by name in `hf_config`'s model_type gpt2 where the weight is square). A tensor tied
/// to a merged one (one storage, two names) is tied to the merged result, as merging in place does.
///
/// Refused with InputError naming the file and key: a peft_type other than LORA, use_dora,
/// lora_bias, an adapter key that is not a LoRA factor, a missing base module, factor shapes that
/// do not fit the base, a rank that disagrees with the config, rank 0. `describe`, when non-null,
/// receives the plan (as --dry-run prints it).
std::vector<NamedTensor> merge_peft_adapters(std::vector<NamedTensor> base,
                                             const std::vector<std::filesystem::path>& adapters,
                                             const Node& hf_config, const std::vector<host::PluginRecord>* plugins,
                                             std::string* describe = nullptr);

} // namespace ckpt::lora
