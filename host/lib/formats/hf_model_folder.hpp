// SPDX-License-Identifier: Apache-2.0
// A Hugging Face model folder (what save_pretrained writes) given where a checkpoint file is
// expected: which file in it is the checkpoint, found as transformers finds it, and its config.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckpt {

/// What a model folder holds for ckptconv.
struct ModelFolder {
    std::filesystem::path dir;
    /// The checkpoint transformers' from_pretrained would load: the first of model.safetensors,
    /// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json that exists
    /// (transformers' own order). Without any of them, the folder's one other checkpoint file
    /// (*.safetensors, *.bin, *.pt, *.pth, *.mdl, *.index.json; shards of an index and the
    /// Trainer's optimizer/scheduler/RNG/arguments files do not count).
    std::filesystem::path checkpoint;
    /// dir/config.json when it exists.
    std::optional<std::filesystem::path> config;
    /// Standard checkpoint names present besides the chosen one (transformers ignores them too;
    /// the caller says so).
    std::vector<std::string> ignored;
};

/// Looks into `dir`. Throws InputError naming the folder when it holds no checkpoint, or no
/// standard name and several candidate files (listing them: the folder is ambiguous).
ModelFolder find_model_folder(const std::filesystem::path& dir);

} // namespace ckpt
