// SPDX-License-Identifier: Apache-2.0
// The SDK's fixed-seed uniform initialiser: within its bound, spread over it, the same for the
// same seed and different for another.
#include <ckptconv/cpp/uniform_init.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ckpt::sdk {
namespace {

TEST(UniformInit, StaysWithinTheBoundAndSpreadsOverIt)
{
    std::vector<float> a(4096), b(4096), c(4096);
    fill_uniform(a.data(), a.size(), 0.125, uniform_seed("projector_image_model.ffn.0.linear_layer.weight"));
    fill_uniform(b.data(), b.size(), 0.125, uniform_seed("projector_image_model.ffn.0.linear_layer.weight"));
    fill_uniform(c.data(), c.size(), 0.125, uniform_seed("projector_image_model.ffn.1.linear_layer.weight"));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
    EXPECT_GE(*lo, -0.125f);
    EXPECT_LE(*hi, 0.125f);
    EXPECT_LT(*lo, -0.12f);
    EXPECT_GT(*hi, 0.12f);
    double mean = 0;
    for (float x : a)
        mean += x;
    EXPECT_NEAR(mean / static_cast<double>(a.size()), 0.0, 0.005);
}

} // namespace
} // namespace ckpt::sdk
