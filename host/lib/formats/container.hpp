// SPDX-License-Identifier: Apache-2.0
// Opens any supported checkpoint by its content (magic bytes), never by its file name.
#pragma once

#include "formats/checkpoint.hpp"
#include "plugins/plugin_loader.hpp"

#include <filesystem>
#include <vector>

namespace ckpt {

/// Reads `path`: a plugin container that identifies it (when `plugins` is given), a Cerebras
/// `.mdl` (HDF5 or torch pickle), a PyTorch zip, a safetensors file, or a Hugging Face
/// `*.index.json` with its shards; a folder is read as a Hugging Face model folder (the file
/// find_model_folder() picks), and a folder of model folders as one compound checkpoint
/// (compound_folder.hpp). Throws InputError naming the file when it is none of these or
/// is damaged. Inputs are only ever read (mapped read-only).
Checkpoint open_checkpoint(const std::filesystem::path& path,
                           const std::vector<host::PluginRecord>* plugins = nullptr);

/// The tensors of a flat state dict (a Hugging Face checkpoint's root), in order. Throws
/// InputError when the root is not a flat map of tensors (`what` names the file for the message).
std::vector<NamedTensor> flat_tensors(const Node& root, const std::string& what);

} // namespace ckpt
