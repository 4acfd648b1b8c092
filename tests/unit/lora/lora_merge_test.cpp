// SPDX-License-Identifier: Apache-2.0
// The merge op: one rounding, float64 accumulation, every orientation, and the shapes it refuses.
#include "lora_test_util.hpp"

#include "core/error.hpp"
#include "lora/lora_merge.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace ckpt::test::lora {
namespace {

using ckpt::lora::Update;

uint16_t stored16(DType d, double v)
{
    std::byte b[2];
    ckpt::lora::store_rounded_once(d, v, b);
    uint16_t u;
    std::memcpy(&u, b, 2);
    return u;
}

TEST(LoraMerge, RoundsOnceWhereFloat32WouldRoundTwice)
{
    // 1 + 2^-8 + 2^-30 lies just above the BF16 tie between 1 and 1 + 2^-7; float32 drops the
    // 2^-30 and lands on the tie, which then rounds to even (1.0). Rounded once it goes up.
    EXPECT_EQ(stored16(DType::bf16, 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30)), 0x3F81);
    EXPECT_EQ(stored16(DType::bf16, -(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30))), 0xBF81);
    EXPECT_EQ(stored16(DType::bf16, 1.0 + std::ldexp(1.0, -8)), 0x3F80); // an exact tie still goes to even
    // Same for F16 (10 mantissa bits): 1 + 2^-11 + 2^-30 -> 1 + 2^-10.
    EXPECT_EQ(stored16(DType::f16, 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -30)), 0x3C01);
    EXPECT_EQ(stored16(DType::f16, 1e6), 0x7C00); // overflow to infinity
    EXPECT_EQ(stored16(DType::bf16, 0.0), 0x0000);
}

/// Builds a plan over `inputs`, merges `factors` (given by input index) into input 0 and returns
/// the result.
TensorPtr merge(const std::vector<NamedTensor>& inputs, const std::vector<Factor>& factors)
{
    engine::Plan plan(inputs);
    std::vector<Update> updates;
    size_t next = 1;
    for (const Factor& f : factors) {
        Update u;
        u.a = plan.input(inputs[next++].name);
        u.b = plan.input(inputs[next++].name);
        u.scale = f.scale;
        u.transposed = f.transposed;
        updates.push_back(u);
    }
    ckpt::lora::add_merge(plan, inputs[0].name, plan.input(inputs[0].name), updates, "out");
    return plan.outputs().at(0).tensor;
}

TEST(LoraMerge, MatchesAnIndependentFloat64MergeInEveryDtype)
{
    for (DType d : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
        SCOPED_TRACE(std::string(dtype_name(d)));
        // W[6, 10]; a plain update of rank 3 (A[3, 10], B[6, 3]) and a transposed one of rank 2
        // (A[2, 6], B[10, 2]), as an embedding or a fan-in-first Linear has; factors in F32.
        TensorPtr w = seeded(d, {6, 10}, 1, 2.0);
        Factor plain{seeded(DType::f32, {3, 10}, 2), seeded(DType::f32, {6, 3}, 3), 8.0 / 3, false};
        Factor turned{seeded(DType::bf16, {2, 6}, 4), seeded(DType::f32, {10, 2}, 5), 0.5, true};
        TensorPtr got = merge({{"w", w}, {"a1", plain.a}, {"b1", plain.b}, {"a2", turned.a}, {"b2", turned.b}},
                              {plain, turned});
        ASSERT_EQ(got->info(), w->info());
        EXPECT_TRUE(within_one_ulp(*got, merged_reference(*w, {plain, turned}), "out"));
    }
}

TEST(LoraMerge, WideWeightsAcrossColumnTiles)
{
    // 600 columns: two full tiles of the kernel and a partial one; 9 rows: two row blocks and one.
    TensorPtr w = seeded(DType::bf16, {9, 600}, 11, 1.0);
    Factor plain{seeded(DType::f32, {5, 600}, 12), seeded(DType::f32, {9, 5}, 13), 0.25, false};
    Factor turned{seeded(DType::f32, {3, 9}, 14), seeded(DType::f32, {600, 3}, 15), 2.0, true};
    TensorPtr got = merge({{"w", w}, {"a1", plain.a}, {"b1", plain.b}, {"a2", turned.a}, {"b2", turned.b}},
                          {plain, turned});
    EXPECT_TRUE(within_one_ulp(*got, merged_reference(*w, {plain, turned}), "out"));
}

TEST(LoraMerge, ZeroUpdateLeavesTheBaseBitForBit)
{
    TensorPtr w = seeded(DType::bf16, {8, 8}, 7);
    Factor zero{seeded(DType::f32, {2, 8}, 8), seeded(DType::f32, {8, 2}, 9, 0.0), 1.0, false};
    TensorPtr got = merge({{"w", w}, {"a", zero.a}, {"b", zero.b}}, {zero});
    EXPECT_TRUE(equal_bytes(*got, *w));
}

std::string merge_error(const std::vector<NamedTensor>& inputs, bool transposed)
{
    try {
        merge(inputs, {Factor{inputs[1].tensor, inputs[2].tensor, 1.0, transposed}});
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(LoraMerge, RefusesFactorsThatDoNotFitTheBase)
{
    TensorPtr w = seeded(DType::f32, {6, 10}, 1);
    // B has 5 rows, the base 6.
    std::string e = merge_error({{"w", w}, {"x.lora_A", seeded(DType::f32, {3, 10}, 2)},
                                 {"x.lora_B", seeded(DType::f32, {5, 3}, 3)}},
                                false);
    EXPECT_NE(e.find("w: the LoRA factors x.lora_A F32[3, 10] and x.lora_B F32[5, 3] make a [5, 10] update"),
              std::string::npos)
        << e;
    // Ranks that disagree.
    e = merge_error({{"w", w}, {"x.lora_A", seeded(DType::f32, {3, 10}, 2)}, {"x.lora_B", seeded(DType::f32, {6, 2}, 3)}},
                    false);
    EXPECT_NE(e.find("LoRA rank mismatch: x.lora_A is F32[3, 10] (rank 3), x.lora_B is F32[6, 2] (rank 2)"),
              std::string::npos)
        << e;
    // Rank 0.
    e = merge_error({{"w", w}, {"x.lora_A", seeded(DType::f32, {0, 10}, 2)}, {"x.lora_B", seeded(DType::f32, {6, 0}, 3)}},
                    false);
    EXPECT_NE(e.find("x.lora_A: LoRA rank 0"), std::string::npos) << e;
    // A plain-shaped pair applied transposed.
    e = merge_error({{"w", w}, {"x.lora_A", seeded(DType::f32, {3, 10}, 2)}, {"x.lora_B", seeded(DType::f32, {6, 3}, 3)}},
                    true);
    EXPECT_NE(e.find("make a [10, 6] update (transposed"), std::string::npos) << e;
    // A base that is not a matrix.
    e = merge_error({{"bias", seeded(DType::f32, {6}, 1)}, {"x.lora_A", seeded(DType::f32, {3, 10}, 2)},
                     {"x.lora_B", seeded(DType::f32, {6, 3}, 3)}},
                    false);
    EXPECT_NE(e.find("bias: LoRA factors x.lora_A and x.lora_B need a 2-D floating-point base weight"),
              std::string::npos)
        << e;
}

} // namespace
} // namespace ckpt::test::lora
