// SPDX-License-Identifier: Apache-2.0
// Python's float text rules: repr() for writing configs exactly as json/PyYAML do, and float() for reading.
#pragma once

#include <string>
#include <string_view>

namespace ckpt {

/// Python 3 `repr(float)`: the shortest text that reads back to the same double, in fixed notation
/// when the decimal exponent is in [-4, 16), else scientific with a signed two-digit-minimum
/// exponent: `0.02`, `1.0`, `1e-05`, `1.5e+16`, `-0.0`, `nan`, `inf`, `-inf`.
std::string python_float_repr(double v);

/// PyYAML's text for a float: repr() lowercased, `.0` inserted before an exponent that has no
/// mantissa dot (`1.0e-05`), and `.nan`, `.inf`, `-.inf`.
std::string pyyaml_float_text(double v);

/// Parses an unsigned decimal float lexeme (digits, optional dot, optional exponent), correctly
/// rounded like Python's float(): overflow gives infinity and underflow zero, as in Python.
/// Returns false when `text` is not such a lexeme.
bool parse_decimal_float(std::string_view text, double& out);

} // namespace ckpt
