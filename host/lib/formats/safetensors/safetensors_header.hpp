// SPDX-License-Identifier: Apache-2.0
// The safetensors header parser and validator shared by the reader and the fuzz target.
//
// Format (huggingface/safetensors): an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON,
// then the data section. The JSON object maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets relative to the data
// section, end exclusive), plus an optional "__metadata__" object of string values. Tensors must
// tile the data section exactly: sorted by offset they start at 0, touch end to begin, and the
// last one ends at the end of the file. That rule leaves no room for hidden bytes (polyglot files).
#pragma once

#include "core/tensor.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ckpt {

/// Largest header the reference implementation accepts (MAX_HEADER_SIZE); we refuse more too.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

/// One tensor entry of a validated header.
struct SafetensorsEntry {
    std::string name;
    TensorInfo info;
    uint64_t begin = 0; // relative to the data section
    uint64_t end = 0;
};

/// A validated header. `tensors` keeps header order.
struct SafetensorsHeader {
    uint64_t header_size = 0; // N
    uint64_t data_start = 0;  // 8 + N: file offset of the data section
    uint64_t data_size = 0;   // file_size - data_start
    std::vector<SafetensorsEntry> tensors;
    std::vector<std::pair<std::string, std::string>> metadata;
};

namespace detail {

/// Parses and validates the header of a safetensors file of `file_size` bytes whose first bytes
/// are `bytes` (at least the length prefix and the header; the whole mapped file is fine).
/// `name` is the file name used in messages. Enforces every rule of the format and throws
/// InputError naming the file, the tensor or key, what was expected and what was found.
/// Never reads outside `bytes`; allocates at most a small multiple of the header size.
SafetensorsHeader parse_safetensors_header(std::string_view bytes, uint64_t file_size,
                                           const std::string& name);

} // namespace detail
} // namespace ckpt
