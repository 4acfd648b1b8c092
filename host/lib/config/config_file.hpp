// SPDX-License-Identifier: Apache-2.0
// One entry point for config files of either kind: JSON (Hugging Face) or YAML (Cerebras).
#pragma once

#include "core/node.hpp"

#include <filesystem>
#include <string_view>

namespace ckpt {

enum class ConfigFormat { json, yaml };

/// `.json` → JSON; `.yaml`/`.yml` → YAML; any other name: JSON when the text starts with `{`
/// (after a BOM and whitespace), else YAML.
ConfigFormat detect_config_format(const std::filesystem::path& path, std::string_view text);

/// Reads a config (JSON or YAML, see detect_config_format) whose root is a mapping; `format`, when
/// given, receives the format used. Throws InputError naming the file for anything unreadable,
/// including binary files and roots that are not mappings.
Node read_config(const std::filesystem::path& path, ConfigFormat* format = nullptr);

/// Writes as the Model Zoo does: YAML as `yaml.dump(indent=4)`, JSON as `json.dumps(indent=4)`.
void write_config(const std::filesystem::path& path, const Node& config, bool yaml);

} // namespace ckpt
