// SPDX-License-Identifier: Apache-2.0
// The `model.lora_params` of a Cerebras config: LoRA groups and which modules each one adapts.
#pragma once

#include "core/node.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::lora {

/// One group of `lora_params` (the Model Zoo's LoraConfig; `dropout` and `merge_weights` do not
/// change a fold and are only type-checked).
struct CsLoraGroup {
    int64_t r = 0;
    double alpha = 1.0;
    bool fan_in_fan_out = false;
    /// Class names that must all be in a module's ancestry; nullopt: every Linear and Embedding.
    std::optional<std::vector<std::string>> target_modules;
    /// alpha / r (0 when r is 0).
    double scale() const { return r > 0 ? alpha / static_cast<double>(r) : 0.0; }
};

/// Parses `lora_params` (a map, or a list of maps) with the Model Zoo's defaults. Throws
/// InputError naming `file` and the key for an unknown key, a wrong type or a negative rank.
std::vector<CsLoraGroup> parse_cs_lora_params(const Node& lora_params, const std::string& file);

/// The index of the first group whose target_modules all appear in `classes` (the module's class
/// and those of its ancestors), as get_lora_config_for_module picks it; nullopt when none does.
std::optional<size_t> group_for(const std::vector<CsLoraGroup>& groups, const std::vector<std::string>& classes);

} // namespace ckpt::lora
