// SPDX-License-Identifier: Apache-2.0
// The decoder helper's shared parts: release parsing, typed config reads and their truth values,
// fused QKV row orders against the reshapes the Model Zoo describes, the deterministic lm_head.
#include "core/node.hpp"
#include "plugins/host_services.hpp"

#include <ckptconv/cpp/decoder.hpp>

#include <gtest/gtest.h>

#include <cmath>

using namespace ckpt::sdk;

namespace {

struct Config {
    ckpt::Node root = ckpt::Node::map();
    ConstNode view() { return {ckpt::host::config_api(), ckpt::host::to_abi(&root)}; }
};

} // namespace

TEST(SdkFamily, ParsesReleasesAndListsFormats)
{
    EXPECT_EQ(cs_version("cs-2.10"), std::make_pair(2, 10));
    EXPECT_FALSE(cs_version("hf"));
    EXPECT_FALSE(cs_version("cs-2.1-dpo"));
    EXPECT_TRUE(cs_at_least("cs-2.4", 2, 4));
    EXPECT_FALSE(cs_at_least("cs-2.3", 2, 4));
    EXPECT_FALSE(cs_at_least("hf", 1, 0));
    EXPECT_EQ(join(cs_formats({2, 0}, {2, 2})), "cs-2.0, cs-2.1, cs-2.2");
    EXPECT_EQ(cs_formats({2, 3}).size(), 7u);
}

TEST(SdkFamily, ConfigReadsNameTheKeyAndAgreeOnTruth)
{
    Config c;
    c.root.set("flag_two", ckpt::Node(int64_t{2}));
    c.root.set("flag_zero", ckpt::Node(int64_t{0}));
    c.root.set("flag_text", ckpt::Node("yes"));
    c.root.set("heads", ckpt::Node(4.0));
    c.root.set("half", ckpt::Node(4.5));
    c.root.set("none", ckpt::Node());
    const ConstNode v = c.view();
    EXPECT_TRUE(config_flag_or(v, "flag_two", false, "CS")); // Python: `if 2:` is taken
    EXPECT_FALSE(config_flag_or(v, "flag_zero", true, "CS"));
    EXPECT_TRUE(config_flag_or(v, "none", true, "CS"));
    EXPECT_TRUE(config_flag_or(v, "missing", true, "CS"));
    try {
        config_flag_or(v, "flag_text", false, "CS");
        FAIL() << "a string is not a flag";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "CS config: 'flag_text' must be a boolean, found a string");
    }
    EXPECT_EQ(config_int(v, "heads", "HF"), 4);
    try {
        config_int(v, "half", "HF");
        FAIL() << "4.5 is not an integer";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "HF config: 'half' must be an integer, found a float");
    }
    EXPECT_THROW(config_int(v, "missing", "HF"), Error);
    EXPECT_EQ(config_int_or(v, "none", 7, "HF"), 7);
    EXPECT_EQ(config_float_or(v, "heads", 1.0, "CS"), 4.0);
    EXPECT_EQ(config_string_or(v, "missing", "x", "CS"), "x");
    EXPECT_THROW(config_string_or(v, "heads", "x", "CS"), Error);
}

/// The fused row of (part, chunk, row) by the Model Zoo's view `[groups, slots, chunk_rows, ...]`,
/// a group's slots being its runs laid out in order (one run per part).
int64_t fused_row(const FusedQkv& l, FusedQkv::Part part, int64_t chunk, int64_t row)
{
    int64_t slots = 0, slot = 0, per_group = 0;
    for (const auto& r : l.group) {
        if (r.part == part) {
            slot = slots;
            per_group = r.chunks;
        }
        slots += r.chunks;
    }
    const int64_t g = chunk / per_group, j = chunk % per_group;
    return (g * slots + slot + j) * l.chunk_rows + row;
}

TEST(SdkDecoder, FusedLayoutsMatchTheModelZooViews)
{
    // NeoX [H, 3, hd]: q of head h = rows h*3*hd + [0, hd).
    const auto neox = fused_to_cs_rows("t", FusedQkv::per_head(2, 4), Rotary::none());
    std::vector<int64_t> expect{0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23};
    EXPECT_EQ(neox, expect);
    // Falcon GQA [G, H/G + 2, hd] with H = 4, G = 2, hd = 1: groups (q q k v)(q q k v).
    const auto gqa = fused_to_cs_rows("t", FusedQkv::grouped(4, 2, 1), Rotary::none());
    EXPECT_EQ(gqa, (std::vector<int64_t>{0, 1, 4, 5, 2, 6, 3, 7}));
    // CodeGen: 2 blocks of (q, v, k), 2 rows each per block.
    const auto codegen = fused_to_cs_rows("t", FusedQkv::blocked(2, {FusedQkv::q, FusedQkv::v, FusedQkv::k}, 4),
                                          Rotary::none());
    EXPECT_EQ(codegen, (std::vector<int64_t>{0, 1, 6, 7, 4, 5, 10, 11, 2, 3, 8, 9}));
    for (const auto& layout : {FusedQkv::per_head(3, 4), FusedQkv::grouped(6, 3, 2), FusedQkv::grouped(4, 1, 4)})
        for (int64_t part = 0; part < 3; ++part) {
            const auto p = static_cast<FusedQkv::Part>(part);
            const auto order = fused_to_cs_rows("t", layout, Rotary::none());
            int64_t base = 0;
            for (int64_t q = 0; q < part; ++q)
                base += layout.part_rows(static_cast<FusedQkv::Part>(q));
            for (int64_t i = 0; i < layout.part_rows(p); ++i)
                EXPECT_EQ(order[static_cast<size_t>(base + i)], fused_row(layout, p, i / layout.chunk_rows, i % layout.chunk_rows));
        }
}

TEST(SdkDecoder, RotaryAppliesToQueryAndKeyOnlyAndInverts)
{
    const FusedQkv layout = FusedQkv::per_head(2, 4);
    const auto plain = fused_to_cs_rows("t", layout, Rotary::none());
    const auto rot = fused_to_cs_rows("t", layout, Rotary{4, 2});
    // rotary_dim 2 of a 4-row head: rotate-half of 2 rows is the identity...
    EXPECT_EQ(plain, rot);
    const auto full = fused_to_cs_rows("t", layout, Rotary{4, 4});
    // ...of 4 rows it interleaves [0 1 | 2 3] -> 0 2 1 3 within every q and k head.
    EXPECT_EQ(std::vector<int64_t>(full.begin(), full.begin() + 4), (std::vector<int64_t>{0, 2, 1, 3}));
    EXPECT_EQ(std::vector<int64_t>(full.begin() + 8, full.begin() + 12), (std::vector<int64_t>{4, 6, 5, 7}));
    EXPECT_EQ(std::vector<int64_t>(full.begin() + 16, full.end()), std::vector<int64_t>(plain.begin() + 16, plain.end()));
    const auto inv = inverse_rows(full);
    for (size_t i = 0; i < full.size(); ++i)
        EXPECT_EQ(inv[static_cast<size_t>(full[i])], static_cast<int64_t>(i));
    EXPECT_THROW(fused_to_cs_rows("t", layout, Rotary{4, 3}), Error);
    EXPECT_THROW(FusedQkv::grouped(4, 3, 2), Error);
    EXPECT_THROW(FusedQkv::blocked(3, {FusedQkv::q, FusedQkv::v, FusedQkv::k}, 8), Error);
}

TEST(SdkFamily, LmHeadInitIsDeterministicAndNormal)
{
    std::vector<float> a(20001), b(20001);
    fill_normal(a.data(), a.size(), kLmHeadInitStd);
    fill_normal(b.data(), b.size(), kLmHeadInitStd);
    EXPECT_EQ(a, b);
    double sum = 0, sq = 0;
    for (float x : a) {
        sum += x;
        sq += double(x) * x;
    }
    const double mean = sum / a.size(), sd = std::sqrt(sq / a.size() - mean * mean);
    EXPECT_NEAR(mean, 0.0, 0.001);
    EXPECT_NEAR(sd, 0.02, 0.001);
}
