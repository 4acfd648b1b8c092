// SPDX-License-Identifier: Apache-2.0
// Small text primitives every parser needs: strict UTF-8 decoding and hex digits.
#pragma once

#include <cstddef>
#include <string_view>

namespace ckpt {

/// Decodes the UTF-8 sequence starting at `s[i]` into `cp`. Returns its length in bytes, or 0
/// when the bytes there are not valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF and
/// truncated sequences are all invalid).
size_t decode_utf8_at(std::string_view s, size_t i, char32_t& cp);

/// The value of a hexadecimal digit (either case), or -1.
int hex_digit(char c);

} // namespace ckpt
