// SPDX-License-Identifier: Apache-2.0
// Rotary layout changes for q/k projections and q/k norms: HF rotates halves, CS interleaves
// pairs (spec/mappings.md §2.2 b). Validates the shapes against the config before building rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ckpt::llama {

/// ROW_PERMUTE order for a projection weight `[rows, in]` or bias `[rows]` made of `heads`
/// equal heads, permuting the first `rotary_dim` rows of each head. `to_cs` picks the direction.
/// Throws (naming `tensor`) when rows do not split into heads or rotary_dim does not fit a head.
std::vector<int64_t> projection_rows(const std::string& tensor, int64_t rows, int64_t heads, int64_t rotary_dim,
                                     bool to_cs);

/// ROW_PERMUTE order for a per-head norm weight `[head_dim]`: its first `rotary_dim` entries.
std::vector<int64_t> norm_rows(const std::string& tensor, int64_t length, int64_t rotary_dim, bool to_cs);

} // namespace ckpt::llama
