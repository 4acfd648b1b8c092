// SPDX-License-Identifier: Apache-2.0
// JSON configs (Hugging Face config.json, index files): read into an ordered Node tree and written
// exactly as Python's json.dumps writes them.
#pragma once

#include "core/node.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace ckpt {

/// How a JSON config is laid out. Both presets are what the named Python code writes.
struct JsonStyle {
    int indent = 4;               ///< spaces per level (json.dumps(indent=N)); items are one per line
    bool sort_keys = false;       ///< json.dumps(sort_keys=True)
    bool trailing_newline = false; ///< a final "\n" after the closing brace
};
/// The Model Zoo's `json.dumps(config, indent=4)` (configs) and index files.
inline constexpr JsonStyle kModelZooJson{4, false, false};
/// transformers' `save_pretrained`: `json.dumps(config, indent=2, sort_keys=True) + "\n"`.
inline constexpr JsonStyle kHuggingFaceJson{2, true, true};

/// Reads a JSON config whose root must be an object. Keys keep their order; a number is an
/// integer when its text has no `.`, `e` or `E` (as Python's json decides), else a float;
/// `NaN`, `Infinity`, `-Infinity` are accepted as Python accepts them. A UTF-8 BOM is skipped.
/// Throws InputError naming the file, with line and column, for malformed JSON, a duplicate key
/// (Python would keep the last), an integer outside 64 bits, a float beyond the double range
/// (Python: inf), an unpaired surrogate escape, nesting deeper than 256 or a non-object root.
/// Files over 256 MiB are refused before reading. Thread-safe (no shared state).
Node read_json_config(const std::filesystem::path& path);
/// Same, from text already in memory; `name` is used in messages.
Node parse_json_config(std::string_view text, const std::string& name);

/// The text `json.dumps(config, indent=4)` produces (ensure_ascii: non-ASCII as \uXXXX; floats as
/// repr(); NaN/Infinity as Python writes them; tuples as lists; integer, float, bool and null keys
/// converted to strings as Python does). Throws InputError for values JSON cannot hold (bytes,
/// tensors, opaque objects) or invalid UTF-8, naming the key. With sort_keys, keys that Python
/// could not compare (mixed types) keep their insertion order.
std::string format_json_config(const Node& config, const JsonStyle& style = kModelZooJson);
/// Writes format_json_config(config, style) to `path` (the caller handles atomic replacement).
void write_json_config(const std::filesystem::path& path, const Node& config,
                       const JsonStyle& style = kModelZooJson);

} // namespace ckpt
