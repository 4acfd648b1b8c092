// SPDX-License-Identifier: Apache-2.0
// Reads single safetensors files: memory-mapped, zero-copy, every header rule enforced.
#pragma once

#include "formats/checkpoint.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace ckpt {

/// Cheap sniff for format detection: `head` is the first bytes of a file of `file_size` bytes
/// (at least 9 are needed; 16 or more is best). True when the length prefix is plausible (at most
/// 100,000,000 and inside the file) and the header starts with `{` after optional whitespace.
/// Never throws. A true answer does not promise the file is valid: read_safetensors checks.
bool is_safetensors(std::string_view head, uint64_t file_size);

/// For a file is_safetensors refused: when it still looks like safetensors (a JSON object right
/// after the 8-byte length prefix) but its length prefix cannot be right, what is wrong with the
/// prefix ("the 8-byte header length says 4096 bytes, but only 120 bytes follow it"), so the user
/// hears about a damaged header rather than "not a checkpoint". Empty otherwise. Never throws.
std::string safetensors_length_problem(std::string_view head, uint64_t file_size);

/// Reads a safetensors file. The root is a flat map name -> tensor in header order; each tensor is
/// a SpanTensor into the read-only mapping, which stays mapped as long as any tensor lives.
/// `metadata` holds the `__metadata__` pairs in file order, `format` is "safetensors", `files` is
/// {path}. Throws InputError naming the file (and the tensor or key) for any bad input.
/// Thread safety: the returned tensors may be read from any thread.
Checkpoint read_safetensors(const std::filesystem::path& path);

} // namespace ckpt
