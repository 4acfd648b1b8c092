// SPDX-License-Identifier: Apache-2.0
// Rotary permutations match the Model Zoo's reshape/permute description and invert exactly.
#include <ckptconv/cpp/transforms.hpp>

#include <gtest/gtest.h>

using namespace ckpt::sdk;

TEST(SdkTransforms, RotaryPermutationInterleavesHalves)
{
    // One head of 8 rows, all rotary: rows 0..3 are the first halves, 4..7 the second.
    auto order = rotary_rows_hf_to_cs(1, 8, 8);
    std::vector<int64_t> expected{0, 4, 1, 5, 2, 6, 3, 7};
    EXPECT_EQ(order, expected);
}

TEST(SdkTransforms, RotaryPermutationIsPerHeadAndLeavesNonRotaryRows)
{
    auto order = rotary_rows_hf_to_cs(2, 6, 4);
    std::vector<int64_t> expected{0, 2, 1, 3, 4, 5, 6, 8, 7, 9, 10, 11};
    EXPECT_EQ(order, expected);
}

TEST(SdkTransforms, RotaryPermutationMatchesReshapePermute)
{
    // [H, 2, r/2] -> permute(0, 2, 1) -> [H, r]: out[h][2j + s] = in[h][s * r/2 + j].
    const int64_t H = 4, hd = 16, r = 16;
    auto order = rotary_rows_hf_to_cs(H, hd, r);
    for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < r / 2; ++j)
            for (int64_t s = 0; s < 2; ++s)
                EXPECT_EQ(order[static_cast<size_t>(h * hd + 2 * j + s)], h * hd + s * (r / 2) + j);
}

TEST(SdkTransforms, InverseUndoesTheForwardPermutation)
{
    for (auto [H, hd, r] : {std::tuple{4, 16, 16}, std::tuple{2, 16, 8}, std::tuple{1, 6, 0}}) {
        auto f = rotary_rows_hf_to_cs(H, hd, r);
        auto b = rotary_rows_cs_to_hf(H, hd, r);
        for (size_t i = 0; i < f.size(); ++i)
            EXPECT_EQ(b[static_cast<size_t>(f[i])], static_cast<int64_t>(i));
    }
    EXPECT_THROW(rotary_rows_hf_to_cs(1, 8, 3), Error);
    EXPECT_THROW(rotary_rows_hf_to_cs(1, 8, 10), Error);
}
