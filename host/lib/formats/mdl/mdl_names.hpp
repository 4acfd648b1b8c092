// SPDX-License-Identifier: Apache-2.0
// Names shared by the `.mdl` reader and writer: dataset-name quoting and the handler names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ckpt::detail {

/// Python's `urllib.parse.quote(key, safe='')`: every byte except ASCII letters, digits and
/// `_.-~` becomes `%XX` (upper-case hex). This is how cstorch names root datasets.
std::string url_quote(std::string_view key);

// `__H5_TYPE__` values of cstorch's H5 type handlers.
inline constexpr std::string_view kTorchTensorH5Type = "TorchTensorH5Type";
inline constexpr std::string_view kNumpyArrayH5Type = "NumpyArrayH5Type";
inline constexpr std::string_view kScalarH5Type = "ScalarH5Type";
inline constexpr std::string_view kStringH5Type = "StringH5Type";
inline constexpr std::string_view kNoneH5Type = "NoneH5Type";
inline constexpr std::string_view kObjectH5Type = "ObjectH5Type";
inline constexpr std::string_view kDeferredH5Tensor = "DeferredH5Tensor";
inline constexpr std::string_view kDeferredFullTensor = "DeferredFullTensor";
inline constexpr std::string_view kDeferredFileTensor = "DeferredFileTensor";

/// Hex text of bytes (lower case, as Python's bytes.hex()).
std::string to_hex(std::string_view bytes);
/// Bytes of hex text; false when `hex` has odd length or a non-hex character.
bool from_hex(std::string_view hex, std::string& out);

/// IEEE conversions of a double into the 2-byte float formats (round to nearest even).
uint16_t double_to_half_bits(double v);
uint16_t double_to_bf16_bits(double v);

} // namespace ckpt::detail
