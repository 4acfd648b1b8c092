// SPDX-License-Identifier: Apache-2.0
// What the LoRA tests share: seeded factors, an independent float64 merge, the one-ulp comparison.
#pragma once

#include "core/tensor.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ckpt::test::lora {

/// Runs ckptconv with only the plugins built in this tree.
RunResult cli(const std::vector<std::string>& args);

/// A tensor of `dtype` with values uniform in [-scale, scale) from a fixed seed (stored as the
/// dtype rounds them).
TensorPtr seeded(DType dtype, std::vector<int64_t> shape, uint32_t seed, double scale = 0.5);

/// The same values in another dtype.
TensorPtr recast(const TensorPtr& t, DType dtype);

/// Every element as float64.
std::vector<double> values(const TensorData& t);

/// One factor pair as the test applies it: W += scale * T(B @ A).
struct Factor {
    TensorPtr a, b;
    double scale = 1.0;
    bool transposed = false;
};

/// The merge computed element by element in float64, written independently of the library's kernel.
std::vector<double> merged_reference(const TensorData& w, const std::vector<Factor>& factors);

/// Success when every element of `got` is within one unit in the last place (of its dtype) of the
/// exact `expected`.
::testing::AssertionResult within_one_ulp(const TensorData& got, const std::vector<double>& expected,
                                          const std::string& name);

/// Writes a YAML or JSON text file.
void write_text(const std::filesystem::path& file, const std::string& text);

} // namespace ckpt::test::lora
