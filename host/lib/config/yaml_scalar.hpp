// SPDX-License-Identifier: Apache-2.0
// YAML 1.1 scalar resolution as PyYAML's SafeLoader does it: which plain scalars are null, bool,
// int, float or timestamp, and their values. The YAML writer uses the same rules to decide when
// a string must be quoted.
#pragma once

#include <cstdint>
#include <string_view>

namespace ckpt {

/// Implicit tags of PyYAML's resolver (yaml/resolver.py), in its terms.
enum class YamlTag { str, null, boolean, integer, floating, timestamp, merge, value };

/// The tag PyYAML gives an untagged plain scalar. Quoted scalars are always `str`.
/// `1e-5` is a str (PyYAML's float pattern needs a dot and a signed exponent); `0o17` is a str
/// (YAML 1.1 octal is `017`); `yes`, `on`, `off`, `no` are booleans.
YamlTag resolve_plain_scalar(std::string_view text);

/// Values as PyYAML's constructors compute them (underscores ignored, `0b`/`0x`/`0` prefixes,
/// base-60 `1:30`). Return false when the text is not a valid literal of that type or (ints)
/// does not fit in 64 bits.
bool construct_yaml_bool(std::string_view text, bool& out);
bool construct_yaml_int(std::string_view text, int64_t& out);
bool construct_yaml_float(std::string_view text, double& out);

} // namespace ckpt
