// SPDX-License-Identifier: Apache-2.0
// YAML configs (Cerebras params/config .yaml): read as PyYAML's SafeLoader reads them and written
// exactly as PyYAML's yaml.dump writes them.
#pragma once

#include "core/node.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace ckpt {

/// Layout options of PyYAML's dumper that the Model Zoo's tools use.
struct YamlStyle {
    int indent = 4;         ///< yaml.dump(indent=N); PyYAML accepts 2..9
    bool sort_keys = true;  ///< yaml.dump(sort_keys=...)
};
/// The Model Zoo's `yaml.dump(config, indent=4)` (sorted keys, block style).
inline constexpr YamlStyle kModelZooYaml{4, true};
/// `yaml.safe_dump(config, sort_keys=False)` (default indent 2) as the LoRA fold tool writes it.
inline constexpr YamlStyle kUnsortedYaml{2, false};

/// Reads a one-document YAML config whose root is a mapping, resolving plain scalars as PyYAML's
/// SafeLoader does (YAML 1.1: yes/no/on/off booleans, 0x/0b/0 octal/base-60 ints, floats only with
/// a dot, `~`/null/empty as null; quoted scalars are strings); anchors, aliases and `<<` merge keys
/// are expanded; a repeated key keeps its first position and its last value, as in Python.
/// Timestamps stay strings (PyYAML makes dates of them). Quoted scalars are re-read with PyYAML's
/// folding rules (yaml-cpp 0.7 drops trailing line breaks). Thread-safe.
/// Throws InputError naming the file, with line and column, for invalid YAML (tabs in indentation,
/// several documents, unknown tags, collection keys, ints beyond 64 bits, non-printable characters,
/// nesting deeper than 256, aliases copying more than 128Ki values) and for a non-mapping root.
Node read_yaml_config(const std::filesystem::path& path);
/// Same, from text already in memory; `name` is used in messages.
Node parse_yaml_config(std::string_view text, const std::string& name);

/// Exactly what `yaml.dump(config, indent=style.indent, sort_keys=style.sort_keys)` writes
/// (default_flow_style=False, allow_unicode=False, width 80): block style, empty collections as
/// `[]`/`{}`, sequences inside mappings not indented, floats as repr with `.0` before a bare
/// exponent, strings plain unless they would read back as another type or contain indicators
/// (then single-quoted; non-printable or non-ASCII text double-quoted with escapes), long scalars
/// folded at 80 columns. Shared sub-trees are written in full (PyYAML would write &id001 anchors
/// for one Python object referenced twice; a Node tree has no identity). Tuples are written as
/// lists. Throws InputError for bytes, tensors, opaque objects and invalid UTF-8, naming the key.
std::string format_yaml_config(const Node& config, const YamlStyle& style = kModelZooYaml);
/// `yaml.safe_dump(config, sort_keys=False)`: keys in insertion order, indent 2.
std::string format_yaml_config_unsorted(const Node& config);
/// Writes format_yaml_config(config, style) to `path` (the caller handles atomic replacement).
void write_yaml_config(const std::filesystem::path& path, const Node& config,
                       const YamlStyle& style = kModelZooYaml);

} // namespace ckpt
