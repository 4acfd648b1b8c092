// SPDX-License-Identifier: Apache-2.0
// Small text primitives every parser needs: strict UTF-8 decoding and hex digits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ckpt {

/// Decodes the UTF-8 sequence starting at `s[i]` into `cp`. Returns its length in bytes, or 0
/// when the bytes there are not valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF and
/// truncated sequences are all invalid).
size_t decode_utf8_at(std::string_view s, size_t i, char32_t& cp);

/// The value of a hexadecimal digit (either case), or -1.
int hex_digit(char c);

/// `s` made safe to print on a terminal: C0 control characters, DEL and C1 controls become
/// `\x1b`-style escapes (C1 as `\u0085`), bytes that are not UTF-8 become `\xNN`. A tensor name or config value from
/// an untrusted file goes through this before it is printed, so it cannot move the cursor,
/// retitle the window or hide text. `keep_newlines` leaves '\n' and '\t' alone (multi-line
/// messages). The one escaping function of every log line and of `inspect`'s text output.
std::string escape_control(std::string_view s, bool keep_newlines = false);

} // namespace ckpt
