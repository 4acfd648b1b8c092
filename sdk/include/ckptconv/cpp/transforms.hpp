// SPDX-License-Identifier: Apache-2.0
// The tensor transforms model families share, expressed as plan ops: fused QKV split and join,
// rotary row permutations (MHA, MQA, GQA), causal masks and rotary inverse frequencies.
#pragma once

#include <ckptconv/cpp/plan.hpp>

#include <array>
#include <string>
#include <vector>

namespace ckpt::sdk {

/// Row order that turns Hugging Face's rotate-half layout into the interleaved (GPT-J) layout
/// Cerebras uses, for a projection with `heads` heads of `head_dim` rows each, permuting the
/// first `rotary_dim` rows of every head: HF row j (j < r/2) goes to row 2j and HF row r/2 + j to
/// row 2j + 1; rows r .. head_dim-1 stay. For ROW_PERMUTE (output row i = input row order[i]).
inline std::vector<int64_t> rotary_rows_hf_to_cs(int64_t heads, int64_t head_dim, int64_t rotary_dim)
{
    if (heads <= 0 || head_dim <= 0 || rotary_dim < 0 || rotary_dim > head_dim || rotary_dim % 2)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "invalid rotary permutation: heads=" + std::to_string(heads) +
                                                   " head_dim=" + std::to_string(head_dim) +
                                                   " rotary_dim=" + std::to_string(rotary_dim));
    std::vector<int64_t> order(static_cast<size_t>(heads * head_dim));
    const int64_t half = rotary_dim / 2;
    for (int64_t h = 0; h < heads; ++h) {
        const int64_t base = h * head_dim;
        for (int64_t j = 0; j < half; ++j) {
            order[static_cast<size_t>(base + 2 * j)] = base + j;
            order[static_cast<size_t>(base + 2 * j + 1)] = base + half + j;
        }
        for (int64_t r = rotary_dim; r < head_dim; ++r)
            order[static_cast<size_t>(base + r)] = base + r;
    }
    return order;
}

/// The inverse of rotary_rows_hf_to_cs (interleaved -> rotate-half).
inline std::vector<int64_t> rotary_rows_cs_to_hf(int64_t heads, int64_t head_dim, int64_t rotary_dim)
{
    std::vector<int64_t> fwd = rotary_rows_hf_to_cs(heads, head_dim, rotary_dim);
    std::vector<int64_t> inv(fwd.size());
    for (size_t i = 0; i < fwd.size(); ++i)
        inv[static_cast<size_t>(fwd[i])] = static_cast<int64_t>(i);
    return inv;
}

/// Splits a fused q|k|v tensor into three outputs. For a GPT-2 Conv1D weight `[E, 3E]` pass
/// `transpose_first` so each part is `W[:, part]^T` (`[E, E]`); biases `[3E]` split directly.
inline void split_qkv(Plan& plan, ckpt_value_id fused, const std::array<std::string, 3>& outputs,
                      bool transpose_first)
{
    const bool is_2d = plan.value_info(fused).shape.size() == 2;
    ckpt_value_id src = transpose_first && is_2d ? plan.transpose("", fused) : fused;
    for (int i = 0; i < 3; ++i)
        plan.split(outputs[static_cast<size_t>(i)], src, 0, i, 3);
}

/// Joins q, k, v back into one fused tensor (concatenated along axis 0), transposing 2-D results
/// when `transpose_after` (GPT-2 Conv1D).
inline ckpt_value_id join_qkv(Plan& plan, const std::array<ckpt_value_id, 3>& parts, const std::string& output,
                              bool transpose_after)
{
    const bool is_2d = plan.value_info(parts[0]).shape.size() == 2;
    if (transpose_after && is_2d)
        return plan.transpose(output, plan.concat("", {parts[0], parts[1], parts[2]}, 0));
    return plan.concat(output, {parts[0], parts[1], parts[2]}, 0);
}

/// GPT-2's `attn.bias` buffer: lower-triangular ones, uint8, `[1, 1, positions, positions]`.
inline ckpt_value_id causal_mask(Plan& plan, const std::string& output, int64_t positions)
{
    return plan.generate(output, CKPT_GEN_TRIL, CKPT_DTYPE_U8, {1, 1, positions, positions});
}

/// Rotary inverse frequencies 1 / base^(2i/dim), float32 `[dim/2]`.
inline ckpt_value_id inv_freq(Plan& plan, const std::string& output, int64_t dim, double base)
{
    return plan.generate(output, CKPT_GEN_INV_FREQ, CKPT_DTYPE_F32, {dim / 2}, base);
}

/// A scalar (rank-0) constant, e.g. GPT-2's `attn.masked_bias` = -1e4.
inline ckpt_value_id constant(Plan& plan, const std::string& output, ckpt_dtype dtype, double value)
{
    return plan.generate(output, CKPT_GEN_FILL, dtype, {}, value);
}

} // namespace ckpt::sdk
