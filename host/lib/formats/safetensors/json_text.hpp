// SPDX-License-Identifier: Apache-2.0
// JSON helpers private to this folder: strict parsing and the two string spellings we must
// reproduce byte for byte (serde_json's for safetensors headers, Python's for index files).
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace ckpt::detail {

/// Parses `text` as one JSON document: UTF-8 validated, iterative (deeply nested input cannot
/// overflow the stack), trailing whitespace only. Returns false and fills `error` (message with
/// the byte offset inside `text`) on failure.
bool parse_json_strict(std::string_view text, rapidjson::Document& doc, std::string& error);

/// "object", "array", "string", "number", "boolean", "null" for messages.
std::string_view json_kind(const rapidjson::Value& v);

/// "an object", "a number", ... for messages.
std::string json_a_kind(const rapidjson::Value& v);

/// A short printable rendering of a value for messages (strings quoted and cut at 60 bytes).
std::string json_excerpt(const rapidjson::Value& v);

/// View of a string value (may contain NUL bytes).
inline std::string_view json_string(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// Appends `s` as a JSON string the way serde_json writes it (the safetensors reference writer):
/// `"` and `\` escaped, control characters as \b \t \n \f \r or \u00xx, everything else raw.
void append_json_string_serde(std::string& out, std::string_view s);

/// Appends `s` (valid UTF-8) as a JSON string the way Python's json.dumps writes it with the
/// default ensure_ascii=True: everything outside printable ASCII as lowercase \uxxxx escapes,
/// characters above U+FFFF as surrogate pairs.
void append_json_string_python(std::string& out, std::string_view s);

} // namespace ckpt::detail
