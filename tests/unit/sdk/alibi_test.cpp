// SPDX-License-Identifier: Apache-2.0
// ALiBi slopes (sdk alibi.hpp) against values computed independently: the closed form
// 2^(-8k/n) of Press et al. for every head count, and literal values for a few small ones.
#include <ckptconv/cpp/alibi.hpp>

#include <gtest/gtest.h>

#include <cmath>

using namespace ckpt::sdk;

namespace {

/// The closed form, written without the helper's start * start^i: head i of n gets 2^(-8(i+1)/n)
/// when n is a power of two; otherwise the p = 2^floor(log2 n) slopes of p heads, then the odd
/// exponents 2^(-8(2j+1)/(2p)) of 2p heads for the remaining n - p.
double closed_form(int64_t n, int64_t i)
{
    int64_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    if (i < p)
        return std::exp2(-8.0 * static_cast<double>(i + 1) / static_cast<double>(p));
    const int64_t j = i - p;
    return std::exp2(-8.0 * static_cast<double>(2 * j + 1) / static_cast<double>(2 * p));
}

} // namespace

TEST(SdkAlibi, MatchesLiteralValues)
{
    // The Model Zoo's own 4-head values (spec/mappings.md §2.10), and hand-derived non-powers of two.
    EXPECT_EQ(alibi_slopes(4), (std::vector<double>{0.25, 0.0625, 0.015625, 0.00390625}));
    EXPECT_EQ(alibi_slopes(1), (std::vector<double>{1.0 / 256}));
    EXPECT_EQ(alibi_slopes(6), (std::vector<double>{0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125}));
    EXPECT_EQ(alibi_slopes(3), (std::vector<double>{1.0 / 16, 1.0 / 256, 0.25}));
    const std::vector<double> twelve = alibi_slopes(12);
    ASSERT_EQ(twelve.size(), 12u);
    EXPECT_DOUBLE_EQ(twelve[8], std::sqrt(0.5));
    EXPECT_DOUBLE_EQ(twelve[11], std::pow(2.0, -3.5));
}

TEST(SdkAlibi, EveryHeadCountUpTo128MatchesTheClosedForm)
{
    for (int64_t n = 1; n <= 128; ++n) {
        const std::vector<double> s = alibi_slopes(n);
        ASSERT_EQ(s.size(), static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            const double want = closed_form(n, i);
            EXPECT_NEAR(s[static_cast<size_t>(i)], want, want * 1e-14) << n << " heads, head " << i;
            // CS stores float32: the rounded values agree exactly.
            EXPECT_EQ(static_cast<float>(s[static_cast<size_t>(i)]), static_cast<float>(want))
                << n << " heads, head " << i;
        }
    }
}

TEST(SdkAlibi, RefusesHeadCountsOutOfRange)
{
    EXPECT_THROW(alibi_slopes(0), Error);
    EXPECT_THROW(alibi_slopes(-3), Error);
    EXPECT_THROW(alibi_slopes(kMaxAlibiHeads + 1), Error);
}

TEST(SdkAlibi, KeyFollowsTheEmbeddingRefactor)
{
    EXPECT_EQ(alibi_slopes_key("cs-2.0"), "relative_pe_helper.slopes");
    EXPECT_EQ(alibi_slopes_key("cs-2.1"), "embedding_layer.position_embed_helper.slopes");
    EXPECT_EQ(alibi_slopes_key("cs-2.9"), "embedding_layer.position_embed_helper.slopes");
}
