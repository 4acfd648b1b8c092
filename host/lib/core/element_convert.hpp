// SPDX-License-Identifier: Apache-2.0
// Bit-exact element conversions (F16/BF16 rounding, casts between dtypes) shared by the plan ops
// and the comparisons of `diff`.
#pragma once

#include "core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ckpt {

// Element bytes are little-endian (tensor.h); the host reads them in place, so it must be too.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ckptconv assumes a little-endian host");

inline uint32_t float_bits(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float bits_float(uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

/// IEEE binary16 -> binary32 (exact). A signalling NaN comes out quiet (its payload kept), as
/// torch's conversion (the F16C instruction) makes it.
inline float f16_to_f32(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f)
        return bits_float(sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0u));
    if (exp != 0)
        return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0)
        return bits_float(sign);
    // Subnormal half: normalise into a float exponent.
    uint32_t e = 113;
    while (!(man & 0x400u)) {
        man <<= 1;
        --e;
    }
    return bits_float(sign | (e << 23) | ((man & 0x3ffu) << 13));
}

/// binary32 -> binary16 with round-to-nearest-even, overflow to infinity, gradual underflow.
/// NaN becomes sign|0x7E00, as torch's c10::Half does.
inline uint16_t f32_to_f16(float f)
{
    const uint32_t x = float_bits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return static_cast<uint16_t>(sign | 0x7e00u);
    if (ax >= 0x477ff000u) // 65520 and above round to infinity (65504 is the largest half)
        return static_cast<uint16_t>(sign | 0x7c00u);
    if (ax < 0x38800000u) { // below 2^-14: a half subnormal (or zero)
        if (ax <= 0x33000000u) // at most 2^-25: rounds to zero (the tie goes to even 0)
            return sign;
        const uint32_t e = ax >> 23;
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e; // value in units of 2^-24 is m >> shift
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u)))
            ++h;
        return static_cast<uint16_t>(sign | h);
    }
    uint32_t h = (ax - 0x38000000u) >> 13;
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        ++h; // a carry into the exponent is the correct next binade
    return static_cast<uint16_t>(sign | h);
}

/// bfloat16 -> binary32 (exact).
inline float bf16_to_f32(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

/// binary32 -> bfloat16 with round-to-nearest-even. NaN becomes 0xFFFF, which is what torch's
/// CPU conversion kernels write (its scalar path would write 0x7FC0; tensors go the vector path).
inline uint16_t f32_to_bf16(float f)
{
    const uint32_t x = float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return 0xffffu;
    const uint32_t bias = 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>((x + bias) >> 16);
}

/// True for F64, F32, F16, BF16.
bool is_float_dtype(DType d);
/// True for the signed and unsigned integer dtypes (not BOOL).
bool is_integer_dtype(DType d);
/// True for the dtypes CAST converts between: floats, integers and BOOL.
bool is_castable_dtype(DType d);

/// Converts `n` elements from `src` (dtype `from`) to `dst` (dtype `to`) the way torch's
/// `Tensor.to(dtype)` does on CPU: narrowing to F16/BF16 goes through float32 (so F64 -> F16
/// rounds twice, like torch), float -> integer truncates toward zero (NaN -> 0, saturating where
/// torch's result is undefined), integer -> integer wraps, anything -> BOOL is `!= 0`.
/// Both dtypes must satisfy is_castable_dtype. `src` and `dst` must not overlap.
void convert_elements(DType from, const std::byte* src, DType to, std::byte* dst, uint64_t n);

/// Writes the value `v` as one element of dtype `d` (F8 and complex included: complex gets a zero
/// imaginary part). Floats narrower than F64 are rounded from `v` through float32 like torch.
void store_double(DType d, double v, std::byte* dst);
/// Writes the integer `v` as one element of dtype `d` (exact for integer dtypes).
void store_int(DType d, int64_t v, std::byte* dst);

/// binary32 -> float8 e4m3fn / e5m2 with round-to-nearest-even (e4m3fn saturates to NaN 0x7F
/// above 464, e5m2 overflows to infinity), as torch's Float8 types do.
uint8_t f32_to_f8_e4m3(float f);
uint8_t f32_to_f8_e5m2(float f);

/// The element at `p` (little-endian) as a double, for comparisons and reports: every dtype,
/// F8 decoded exactly, complex dtypes give their real part.
double load_double(DType d, const std::byte* p);

} // namespace ckpt
