// SPDX-License-Identifier: Apache-2.0
// Text tables in the layout of Python tabulate's "fancy_grid", which the Model Zoo's `list` prints.
#pragma once

#include <string>
#include <vector>

namespace ckpt::cli {

/// Renders a table; cells may hold several lines separated by '\n'. Columns are left-aligned,
/// each at least the header width + 2, with one space of padding on each side.
std::string fancy_grid(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows);

/// Greedy word wrap at `width` columns (like Python's textwrap.fill).
std::string wrap(const std::string& text, size_t width);

} // namespace ckpt::cli
