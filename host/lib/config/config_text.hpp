// SPDX-License-Identifier: Apache-2.0
// Reading a config file's text and the UTF-8 and key-ordering rules shared by the JSON and YAML code.
#pragma once

#include "core/node.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::detail {

/// Configs are small; anything larger is refused before it is read (a 100k-tensor index is ~10 MB).
constexpr uint64_t kMaxConfigBytes = 256ull << 20;
/// Deeper nesting than this is refused: no real config comes close, and it bounds recursion.
constexpr size_t kMaxConfigDepth = 256;
/// Values that YAML aliases may copy in one config: a few anchors are normal, a "billion laughs"
/// file multiplies a few hundred bytes into gigabytes.
constexpr size_t kMaxAliasValues = size_t(1) << 17;

/// The whole file as bytes. Throws InputError naming the file when it cannot be read, is a
/// directory or is larger than kMaxConfigBytes.
std::string read_config_text(const std::filesystem::path& path);

/// Decodes UTF-8 strictly (no overlongs, no surrogates, at most U+10FFFF).
/// Returns false on invalid input.
bool decode_utf8(std::string_view s, std::u32string& out);
/// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t find_invalid_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t c);

/// Map entries in the order Python's sorted() gives their keys, or nullptr when Python could not
/// compare them (mixed key types: PyYAML then keeps insertion order, json.dumps fails).
/// Keys are strings (by code point = by UTF-8 bytes) or all numbers/booleans (by value).
bool python_sort_entries(const std::vector<Node::Entry>& in, std::vector<const Node::Entry*>& out);

/// Python dict key equality: strings by value; 1 == 1.0 == True.
bool python_key_equal(const Node& a, const Node& b);

} // namespace ckpt::detail
