// SPDX-License-Identifier: Apache-2.0
// Python's view of config values, for code that reproduces the Model Zoo's Python rules.
#pragma once

#include "core/node.hpp"

#include <string>

namespace ckpt {

/// Python truthiness: None, False, 0, 0.0, "" and empty containers are false.
bool python_truthy(const Node& v);

/// Python's str() of a scalar (`None`, `True`, `1`, `0.5`, text as is), for messages in the Model
/// Zoo's words; other kinds as `<kind>`.
std::string python_str(const Node& v);

/// `s` with ASCII letters lower-cased (Python's str.lower() for the identifiers configs use).
std::string ascii_lower(std::string s);

} // namespace ckpt
