// SPDX-License-Identifier: Apache-2.0
// Bit-exact F16/BF16/F8 rounding and dtype casts, against bit patterns produced by torch 1.13.
#include "core/element_convert.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace ckpt;

namespace {

struct Case {
    uint32_t f32;
    uint16_t bf16;
    uint16_t f16;
};

// Inputs and the results of torch.tensor(x, dtype=float32).to(bfloat16 / float16), computed once
// with python3-torch 1.13 on this machine.
const Case kCases[] = {
    {0x3f800000, 0x3f80, 0x3c00}, // 1.0
    {0x3f808000, 0x3f80, 0x3c04}, // 1 + 2^-8: BF16 tie, stays even
    {0x3f80c000, 0x3f81, 0x3c06}, // above the BF16 tie
    {0x3f814000, 0x3f81, 0x3c0a}, // below the BF16 tie above 0x3f81
    {0x3f818000, 0x3f82, 0x3c0c}, // BF16 tie from odd rounds up
    {0x7f61b1e6, 0x7f62, 0x7c00}, // 3e38: F16 overflows to inf
    {0x7f7fffff, 0x7f80, 0x7c00}, // FLT_MAX: BF16 rounds up to inf
    {0x7f800000, 0x7f80, 0x7c00}, // inf
    {0xff800000, 0xff80, 0xfc00}, // -inf
    {0x7fc00000, 0xffff, 0x7e00}, // NaN
    {0x80000000, 0x8000, 0x8000}, // -0
    {0x000116c2, 0x0001, 0x0000}, // 1e-40 (float subnormal)
    {0x80000001, 0x8000, 0x8000}, // smallest negative subnormal
    {0x477ff000, 0x4780, 0x7c00}, // 65520: F16 tie to inf
    {0x477fef00, 0x4780, 0x7bff}, // just below: 65504
    {0x477fe000, 0x4780, 0x7bff}, // 65504
    {0x3380d959, 0x3381, 0x0001}, // 6e-8: F16 subnormal
    {0x33000000, 0x3300, 0x0000}, // 2^-25: tie to even zero
    {0x33800000, 0x3380, 0x0001}, // 2^-24: smallest F16 subnormal
    {0x33c00000, 0x33c0, 0x0002}, // 1.5 * 2^-24: tie to even 2
    {0x3727c5ac, 0x3728, 0x00a8}, // 1e-5
    {0xc0200000, 0xc020, 0xc100}, // -2.5
    {0x3dcccccd, 0x3dcd, 0x2e66}, // 0.1
};

} // namespace

TEST(ElementConvert, F32ToBf16MatchesTorch)
{
    for (const Case& c : kCases)
        EXPECT_EQ(f32_to_bf16(bits_float(c.f32)), c.bf16) << std::hex << c.f32;
}

TEST(ElementConvert, F32ToF16MatchesTorch)
{
    for (const Case& c : kCases)
        EXPECT_EQ(f32_to_f16(bits_float(c.f32)), c.f16) << std::hex << c.f32;
}

TEST(ElementConvert, NegativeNanKeepsSignInF16Only)
{
    // torch: 0xffc00001 -> F16 0xfe00, BF16 0xffff.
    EXPECT_EQ(f32_to_f16(bits_float(0xffc00001u)), 0xfe00);
    EXPECT_EQ(f32_to_bf16(bits_float(0xffc00001u)), 0xffff);
}

TEST(ElementConvert, EveryHalfRoundTripsThroughFloat)
{
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto bits = static_cast<uint16_t>(h);
        const float f = f16_to_f32(bits);
        if (std::isnan(f))
            continue;
        ASSERT_EQ(f32_to_f16(f), bits) << std::hex << h;
    }
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
    EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
}

TEST(ElementConvert, EveryBf16RoundTripsThroughFloat)
{
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto bits = static_cast<uint16_t>(h);
        const float f = bf16_to_f32(bits);
        if (std::isnan(f))
            continue;
        ASSERT_EQ(f32_to_bf16(f), bits) << std::hex << h;
    }
}

TEST(ElementConvert, F64ToHalfRoundsTwiceLikeTorch)
{
    // torch: tensor([1 + 2^-11 + 2^-40], float64).to(float16) == 0x3c00 (via float32, the tie
    // goes to even), where a direct rounding would give 0x3c01.
    const double x = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
    uint16_t h = 0;
    convert_elements(DType::f64, reinterpret_cast<const std::byte*>(&x), DType::f16, reinterpret_cast<std::byte*>(&h), 1);
    EXPECT_EQ(h, 0x3c00);
    const double y = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
    convert_elements(DType::f64, reinterpret_cast<const std::byte*>(&y), DType::bf16, reinterpret_cast<std::byte*>(&h), 1);
    EXPECT_EQ(h, 0x3f80);
}

TEST(ElementConvert, IntegerAndBoolCasts)
{
    const float src[] = {-2.7f, 2.7f, NAN, 1e20f, -1e20f, 0.0f};
    int32_t i32[6];
    convert_elements(DType::f32, reinterpret_cast<const std::byte*>(src), DType::i32, reinterpret_cast<std::byte*>(i32), 6);
    EXPECT_EQ(i32[0], -2);
    EXPECT_EQ(i32[1], 2);
    EXPECT_EQ(i32[2], 0);
    EXPECT_EQ(i32[3], INT32_MAX);
    EXPECT_EQ(i32[4], INT32_MIN);
    uint8_t b[6];
    convert_elements(DType::f32, reinterpret_cast<const std::byte*>(src), DType::boolean, reinterpret_cast<std::byte*>(b), 6);
    EXPECT_EQ(std::vector<uint8_t>(b, b + 6), (std::vector<uint8_t>{1, 1, 1, 1, 1, 0}));

    const int64_t big[] = {300, -1, (int64_t{1} << 53) + 1};
    uint8_t u8[3];
    convert_elements(DType::i64, reinterpret_cast<const std::byte*>(big), DType::u8, reinterpret_cast<std::byte*>(u8), 3);
    EXPECT_EQ(u8[0], 44); // wraps like torch
    EXPECT_EQ(u8[1], 255);
    float f[3];
    convert_elements(DType::i64, reinterpret_cast<const std::byte*>(big), DType::f32, reinterpret_cast<std::byte*>(f), 3);
    EXPECT_EQ(f[2], 9007199254740992.0f);
}

TEST(ElementConvert, Float8Rounding)
{
    EXPECT_EQ(f32_to_f8_e4m3(1.0f), 0x38);
    EXPECT_EQ(f32_to_f8_e4m3(448.0f), 0x7e);
    EXPECT_EQ(f32_to_f8_e4m3(464.0f), 0x7e); // tie to even stays at the largest finite value
    EXPECT_EQ(f32_to_f8_e4m3(470.0f), 0x7f); // above: NaN (e4m3fn has no infinity)
    EXPECT_EQ(f32_to_f8_e4m3(-std::ldexp(1.0f, -9)), 0x81); // smallest subnormal
    EXPECT_EQ(f32_to_f8_e4m3(std::ldexp(1.0f, -10)), 0x00); // tie to even zero
    EXPECT_EQ(f32_to_f8_e5m2(1.0f), 0x3c);
    EXPECT_EQ(f32_to_f8_e5m2(57344.0f), 0x7b);
    EXPECT_EQ(f32_to_f8_e5m2(61440.0f), 0x7c); // tie rounds to even: infinity
    EXPECT_EQ(f32_to_f8_e5m2(std::ldexp(1.0f, -16)), 0x01);
    EXPECT_EQ(f32_to_f8_e5m2(NAN), 0x7f);
}
