// SPDX-License-Identifier: Apache-2.0
// Reading single elements of any dtype as double.
#include "core/element.hpp"

#include <cmath>

namespace ckpt {

float half_to_float(uint16_t h)
{
    const uint32_t sign = (h >> 15) & 1u;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t mant = h & 0x3FFu;
    float v;
    if (exp == 0)
        v = std::ldexp(static_cast<float>(mant), -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
    return sign ? -v : v;
}

namespace {

/// Decodes an 8-bit float with `mbits` mantissa bits and exponent bias `bias`. E4M3 (fn) has no
/// infinities and a single NaN pattern per sign; E5M2 follows IEEE rules.
double f8_to_double(uint8_t x, int mbits, int bias, bool ieee)
{
    const int ebits = 7 - mbits;
    const bool neg = x & 0x80;
    const int exp = (x >> mbits) & ((1 << ebits) - 1);
    const int mant = x & ((1 << mbits) - 1);
    double v;
    if (ieee && exp == (1 << ebits) - 1)
        v = mant ? NAN : INFINITY;
    else if (!ieee && exp == (1 << ebits) - 1 && mant == (1 << mbits) - 1)
        v = NAN;
    else if (exp == 0)
        v = std::ldexp(static_cast<double>(mant), 1 - bias - mbits);
    else
        v = std::ldexp(static_cast<double>(mant | (1 << mbits)), exp - bias - mbits);
    return neg ? -v : v;
}

template <class T>
T load(const std::byte* p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

} // namespace

bool is_float_dtype(DType d)
{
    switch (d) {
    case DType::f64: case DType::f32: case DType::f16: case DType::bf16: case DType::f8_e4m3: case DType::f8_e5m2:
        return true;
    default: return false;
    }
}

double element_as_double(DType d, const std::byte* p)
{
    switch (d) {
    case DType::f64: return load<double>(p);
    case DType::f32: return load<float>(p);
    case DType::f16: return half_to_float(load<uint16_t>(p));
    case DType::bf16: return bf16_to_float(load<uint16_t>(p));
    case DType::f8_e4m3: return f8_to_double(load<uint8_t>(p), 3, 7, false);
    case DType::f8_e5m2: return f8_to_double(load<uint8_t>(p), 2, 15, true);
    case DType::i64: return static_cast<double>(load<int64_t>(p));
    case DType::i32: return load<int32_t>(p);
    case DType::i16: return load<int16_t>(p);
    case DType::i8: return load<int8_t>(p);
    case DType::u64: return static_cast<double>(load<uint64_t>(p));
    case DType::u32: return load<uint32_t>(p);
    case DType::u16: return load<uint16_t>(p);
    case DType::u8: return load<uint8_t>(p);
    case DType::boolean: return load<uint8_t>(p) ? 1.0 : 0.0;
    case DType::c64: return load<float>(p);
    case DType::c128: return load<double>(p);
    default: return NAN;
    }
}

} // namespace ckpt
