// SPDX-License-Identifier: Apache-2.0
// `fold-lora`: LoRA factors folded into their base weights, for Cerebras checkpoints (the Model Zoo's
// fold_lora_checkpoint.py) and for Hugging Face checkpoints with PEFT adapters.
#pragma once

#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::lora {

struct FoldRequest {
    std::string model;
    std::filesystem::path config;
    std::filesystem::path checkpoint;
    /// PEFT adapter directories: the checkpoint is then a Hugging Face one.
    std::vector<std::filesystem::path> adapters;
    std::optional<std::filesystem::path> output_dir;
    bool dry_run = false;
    bool force = false;
    bool progress = false;
};

struct FoldResult {
    std::filesystem::path checkpoint;
    std::filesystem::path config;
};

/// Without adapters: a Cerebras checkpoint whose `model` holds `<m>.lora_A` / `<m>.lora_B` beside
/// `<m>.weight`, and its config with `model.lora_params`, become `<ckpt>_folded.<ext>` (only a
/// `model` section, as the Model Zoo writes it) and `<config>_folded.<ext>` (lora_params removed;
/// share_embedding_weights false when the input embedding was adapted). With adapters: a Hugging
/// Face checkpoint and config.json become the directory `<ckpt>_folded` with the merged tensors
/// and config.json. Outputs go beside the inputs unless `output_dir`; the dry run prints the plan.
/// Throws InputError for bad inputs (naming the tensor or key), ConversionError for a fold the
/// config does not describe.
FoldResult fold_lora(const host::Registry& registry, const std::vector<host::PluginRecord>& plugins,
                     const FoldRequest& request);

/// `file` with `suffix` inserted before its last extension, as os.path.splitext splits it
/// ("ckpt.mdl" -> "ckpt_folded.mdl", ".hidden" -> ".hidden_folded").
std::string insert_suffix(const std::string& file, const std::string& suffix);

} // namespace ckpt::lora
