// SPDX-License-Identifier: Apache-2.0
// Freshly initialised uniform tensors (torch's `uniform_`, as the Model Zoo draws a missing LLaVA
// projector), generated while writing from a fixed-seed stream, so every run writes the same bytes.
#pragma once

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/plan.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ckpt::sdk {

/// Fills out[0 .. count) uniformly from (-bound, bound] with the splitmix64 stream of `seed`:
/// not torch's draw (that depends on its global RNG state) but the same on every run and machine.
inline void fill_uniform(float* out, uint64_t count, double bound, uint64_t seed)
{
    uint64_t state = seed;
    for (uint64_t i = 0; i < count; ++i)
        out[i] = static_cast<float>(bound * (2.0 * detail::open_unit(state) - 1.0));
}

/// The seed add_random_uniform uses for `name` (FNV-1a of the name: one stream per tensor).
inline uint64_t uniform_seed(const std::string& name)
{
    uint64_t seed = 0xcbf29ce484222325ULL;
    for (unsigned char ch : name)
        seed = (seed ^ ch) * 0x100000001b3ULL;
    return seed;
}

namespace detail {
struct UniformDraw {
    double bound;
    uint64_t seed;
};
inline ckpt_status uniform_kernel(void* ctx, const ckpt_kernel_io* io) noexcept
{
    if (!ctx || !io || !io->output || !io->output_data || io->output->dtype != CKPT_DTYPE_F32)
        return CKPT_ERR_INVALID_ARGUMENT;
    const auto* d = static_cast<const UniformDraw*>(ctx);
    fill_uniform(static_cast<float*>(io->output_data), io->output->nbytes / sizeof(float), d->bound, d->seed);
    return CKPT_OK;
}
inline void release_uniform(void* ctx) { delete static_cast<UniformDraw*>(ctx); }
} // namespace detail

/// Adds `output` = float32 `shape` drawn uniformly from (-bound, bound], generated while writing.
inline ckpt_value_id add_random_uniform(Plan& plan, const std::string& output, const std::vector<int64_t>& shape,
                                        double bound)
{
    return add_generated_f32(plan, output, shape, &detail::uniform_kernel,
                             new detail::UniformDraw{bound, uniform_seed(output)}, &detail::release_uniform);
}

} // namespace ckpt::sdk
