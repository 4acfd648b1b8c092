// SPDX-License-Identifier: Apache-2.0
// Quoted YAML scalars re-read from the source text with PyYAML's folding and escape rules, because
// yaml-cpp 0.7 loses trailing line breaks of quoted scalars and mis-encodes the \N and \_ escapes.
#pragma once

#include <string>
#include <string_view>

namespace ckpt::detail {

/// Reads the single- or double-quoted scalar that starts at byte `pos` of `text`, after any
/// `&anchor` and `!tag` properties, exactly as PyYAML's scanner does (line folding, `''`,
/// backslash escapes, escaped line breaks). Returns false, leaving `out` unspecified, when no
/// well-formed quoted scalar starts there; the caller then keeps the parser's value.
bool scan_quoted_scalar(std::string_view text, size_t pos, std::string& out);

} // namespace ckpt::detail
