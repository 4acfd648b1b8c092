// SPDX-License-Identifier: Apache-2.0
// Validated rotary row orders for the llama family, over the SDK's permutation helpers.
#include "rotary_interleave.hpp"

#include <ckptconv/cpp/transforms.hpp>

namespace ckpt::llama {

namespace {

[[noreturn]] void bad(const std::string& tensor, const std::string& why)
{
    throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + tensor + ": cannot apply the rotary interleave: " + why);
}

std::vector<int64_t> rows_for(const std::string& tensor, int64_t heads, int64_t head_dim, int64_t rotary_dim,
                              bool to_cs)
{
    if (rotary_dim < 0 || rotary_dim % 2 != 0)
        bad(tensor, "rotary_dim must be even and non-negative, found " + std::to_string(rotary_dim));
    if (rotary_dim > head_dim)
        bad(tensor, "rotary_dim " + std::to_string(rotary_dim) + " is larger than the head size " +
                        std::to_string(head_dim));
    return to_cs ? sdk::rotary_rows_hf_to_cs(heads, head_dim, rotary_dim)
                 : sdk::rotary_rows_cs_to_hf(heads, head_dim, rotary_dim);
}

} // namespace

std::vector<int64_t> projection_rows(const std::string& tensor, int64_t rows, int64_t heads, int64_t rotary_dim,
                                     bool to_cs)
{
    if (heads <= 0)
        bad(tensor, "the number of heads must be positive, found " + std::to_string(heads));
    if (rows <= 0 || rows % heads != 0)
        bad(tensor, "its " + std::to_string(rows) + " rows do not split into " + std::to_string(heads) + " heads");
    return rows_for(tensor, heads, rows / heads, rotary_dim, to_cs);
}

std::vector<int64_t> norm_rows(const std::string& tensor, int64_t length, int64_t rotary_dim, bool to_cs)
{
    if (length <= 0)
        bad(tensor, "it is empty");
    return rows_for(tensor, 1, length, rotary_dim, to_cs);
}

} // namespace ckpt::llama
