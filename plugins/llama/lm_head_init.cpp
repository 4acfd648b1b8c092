// SPDX-License-Identifier: Apache-2.0
// A deterministic N(0, std) plan kernel for the headless lm_head stand-in.
#include "lm_head_init.hpp"

#include <ckptconv/cpp/family.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace ckpt::llama {

namespace {

constexpr uint64_t kSeed = 0x6c6c616d615f6c6dULL; // fixed: same output on every run

/// splitmix64: tiny, well-distributed, and fully specified, so results never depend on the
/// standard library's engine or distribution implementations.
uint64_t next(uint64_t& state)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Uniform in (0, 1]: never 0, so the logarithm below is finite.
double uniform(uint64_t& state) { return (static_cast<double>(next(state) >> 11) + 1.0) * 0x1.0p-53; }

ckpt_status run_kernel(void*, const ckpt_kernel_io* io) noexcept
{
    if (!io || !io->output || !io->output_data || io->output->dtype != CKPT_DTYPE_F32)
        return CKPT_ERR_INVALID_ARGUMENT;
    fill_normal(static_cast<float*>(io->output_data), io->output->nbytes / sizeof(float), kLmHeadInitStd);
    return CKPT_OK;
}

} // namespace

void fill_normal(float* out, uint64_t count, double std_dev)
{
    uint64_t state = kSeed;
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    for (uint64_t i = 0; i < count; i += 2) {
        // Box-Muller: two independent normals per pair of uniforms.
        const double r = std::sqrt(-2.0 * std::log(uniform(state)));
        const double t = kTwoPi * uniform(state);
        out[i] = static_cast<float>(std_dev * r * std::cos(t));
        if (i + 1 < count)
            out[i + 1] = static_cast<float>(std_dev * r * std::sin(t));
    }
}

void add_random_lm_head(sdk::Plan& plan, const std::string& output, int64_t vocab, int64_t hidden)
{
    if (vocab <= 0 || hidden <= 0 || vocab > std::numeric_limits<int64_t>::max() / hidden)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "cannot create " + output + ": vocab_size " +
                                                         std::to_string(vocab) + " x hidden_size " +
                                                         std::to_string(hidden) + " is not a valid shape");
    sdk::add_generated_f32(plan, output, {vocab, hidden}, &run_kernel);
}

} // namespace ckpt::llama
