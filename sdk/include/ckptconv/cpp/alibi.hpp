// SPDX-License-Identifier: Apache-2.0
// ALiBi (attention with linear biases) slopes, which CS models keep as a tensor and HF models
// compute on the fly: the per-head values for any head count and the plan that writes them.
//
// The slopes of Press et al. (and of BLOOM, MPT and the Model Zoo): for a power of two H, head i
// (0-based) gets 2^(-8 (i + 1) / H). Otherwise, with P the largest power of two below H, the
// first P heads get the slopes of P heads and the other H - P heads take every second slope of
// 2P heads (those P does not have), in order. The Model Zoo computes exactly this for powers of
// two but crashes on other head counts (a TypeError adding a tensor to a list); ckptconv gives
// them the slopes the reference method intends (docs/decisions.md).
#pragma once

#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/plan.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace ckpt::sdk {

namespace detail {
/// The slopes of `n` heads, n a power of two, in the Model Zoo's arithmetic (start * start^i in
/// double precision) so that float32 results are bit-identical to its tensors.
inline std::vector<double> alibi_power_of_two(int64_t n)
{
    const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(static_cast<double>(n)) - 3.0)));
    std::vector<double> out;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        out.push_back(start * std::pow(start, static_cast<double>(i)));
    return out;
}
} // namespace detail

/// The largest head count the slopes are generated for (far above any real model).
constexpr int64_t kMaxAlibiHeads = int64_t{1} << 16;

/// The ALiBi slope of every head, head 0 first. Throws for a head count outside [1, kMaxAlibiHeads].
inline std::vector<double> alibi_slopes(int64_t heads)
{
    if (heads < 1 || heads > kMaxAlibiHeads)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "ALiBi slopes need a number of attention heads in [1, " +
                                                   std::to_string(kMaxAlibiHeads) + "], found " +
                                                   std::to_string(heads));
    int64_t p = 1;
    while (p * 2 <= heads)
        p *= 2;
    std::vector<double> out = detail::alibi_power_of_two(p);
    if (p == heads)
        return out;
    const std::vector<double> twice = detail::alibi_power_of_two(2 * p);
    for (int64_t j = 0; j < heads - p; ++j)
        out.push_back(twice[static_cast<size_t>(2 * j)]);
    return out;
}

/// Where a CS checkpoint keeps the slopes: `embedding_layer.position_embed_helper.slopes` from
/// cs-2.1 (the embedding refactor), `relative_pe_helper.slopes` before.
inline std::string alibi_slopes_key(const std::string& cs_fmt)
{
    return cs_at_least(cs_fmt, 2, 1) ? "embedding_layer.position_embed_helper.slopes" : "relative_pe_helper.slopes";
}

/// Adds `output` = float32 `[heads, 1]` holding alibi_slopes(heads), one constant per head.
inline ckpt_value_id add_alibi_slopes(Plan& plan, const std::string& output, int64_t heads)
{
    const std::vector<double> slopes = alibi_slopes(heads);
    if (slopes.size() == 1)
        return plan.generate(output, CKPT_GEN_FILL, CKPT_DTYPE_F32, {1, 1}, slopes[0]);
    std::vector<ckpt_value_id> rows;
    rows.reserve(slopes.size());
    for (const double s : slopes)
        rows.push_back(plan.generate("", CKPT_GEN_FILL, CKPT_DTYPE_F32, {1, 1}, s));
    return plan.concat(output, rows, 0);
}

/// HF -> CS: adds the slopes tensor a CS model of `cs_config` (its model section) needs for the
/// `cs_fmt` target, one per `num_heads`.
inline ckpt_value_id add_cs_alibi_slopes(Plan& plan, const std::string& cs_fmt, const ConstNode& cs_config)
{
    return add_alibi_slopes(plan, alibi_slopes_key(cs_fmt), config_int(cs_config, "num_heads", "CS"));
}

} // namespace ckpt::sdk
