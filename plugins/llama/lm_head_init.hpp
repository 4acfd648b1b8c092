// SPDX-License-Identifier: Apache-2.0
// The freshly initialised lm_head a headless HF -> CS conversion adds (Model Zoo: N(0, 0.02)).
#pragma once

#include <ckptconv/cpp/plan.hpp>

#include <cstdint>
#include <string>

namespace ckpt::llama {

/// Standard deviation of the Model Zoo's lm_head initialisation.
constexpr double kLmHeadInitStd = 0.02;

/// Adds `output` = float32 `[vocab, hidden]` drawn from N(0, kLmHeadInitStd) by a fixed-seed
/// generator: the values differ from torch's (which depend on its global RNG state) but are the
/// same on every run and machine, so outputs stay byte-identical (design.md §6).
void add_random_lm_head(sdk::Plan& plan, const std::string& output, int64_t vocab, int64_t hidden);

/// The generator itself, exposed for tests: fills `out[0..count)` deterministically.
void fill_normal(float* out, uint64_t count, double std_dev);

} // namespace ckpt::llama
