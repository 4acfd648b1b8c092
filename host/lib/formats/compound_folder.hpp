// SPDX-License-Identifier: Apache-2.0
// A compound Hugging Face checkpoint: one folder of named sub-folders that are model folders of
// their own (the Model Zoo's multimodal layout, `image_model/` + `text_model/`), read and written
// as one checkpoint whose tensors and config files are named `<part>/<name>` (docs/abi.md §6).
#pragma once

#include "core/node.hpp"
#include "formats/checkpoint.hpp"
#include "plugins/plugin_loader.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

/// The sub-folders that make `dir` a compound checkpoint, sorted by name: `dir` has no
/// config.json of its own and at least two sub-folders hold one. Empty for anything else.
std::vector<std::string> compound_parts(const std::filesystem::path& dir);

/// Opens each part as a model folder (find_model_folder) into one flat state dict whose tensor
/// names are `<part>/<name>`, in part order. Throws InputError naming the part that cannot be read.
Checkpoint open_compound_checkpoint(const std::filesystem::path& dir, const std::vector<std::string>& parts,
                                    const std::vector<host::PluginRecord>* plugins);

/// The config files of every part: a map of `<part>/<file>` to the parsed JSON, each part's
/// config.json first, then its other `*config.json` files by name.
Node read_compound_config(const std::filesystem::path& dir, const std::vector<std::string>& parts);

/// A config produced for a compound output: a non-empty map whose keys are all `<part>/<file>.json`.
bool is_compound_config(const Node& config);

/// "image_model/config.json" -> {"image_model", "config.json"}; nullopt when `name` has no
/// non-empty part before a '/' or nothing after it.
std::optional<std::pair<std::string, std::string>> split_part(const std::string& name);

} // namespace ckpt
