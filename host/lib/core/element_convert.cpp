// SPDX-License-Identifier: Apache-2.0
// Bit-exact element conversions between dtypes, following torch's CPU semantics.
#include "core/element_convert.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

namespace ckpt {

namespace {

// Storage tags for the two 16-bit float formats, so templates can tell them from int16.
struct Half {
    uint16_t bits;
};
struct BFloat {
    uint16_t bits;
};
struct Bool {
    uint8_t byte;
};

template <class T>
constexpr bool kIsNarrowFloat = std::is_same_v<T, Half> || std::is_same_v<T, BFloat>;

template <class T>
float narrow_to_float(T v)
{
    if constexpr (std::is_same_v<T, Half>)
        return f16_to_f32(v.bits);
    else
        return bf16_to_f32(v.bits);
}

// Float -> integer: truncation toward zero; NaN -> 0 and saturation at the ends, because C++
// leaves out-of-range conversions undefined.
template <class D, class F>
D float_to_int(F f)
{
    if (std::isnan(f))
        return 0;
    if (f <= static_cast<F>(std::numeric_limits<D>::lowest()))
        return std::numeric_limits<D>::lowest();
    // max() of a 64-bit type is not representable in F; compare against 2^bits instead.
    const F limit = std::ldexp(F(1), std::numeric_limits<D>::digits);
    if (f >= limit)
        return std::numeric_limits<D>::max();
    return static_cast<D>(f);
}

template <class D, class S>
D cast_value(S s)
{
    if constexpr (std::is_same_v<S, Half> && std::is_same_v<D, BFloat>) {
        // torch converts float16 -> bfloat16 element by element (c10::BFloat16's constructor),
        // which writes every NaN as 0x7FC0, not 0xFFFF as its float32 -> bfloat16 kernels do.
        const float f = narrow_to_float(s);
        return BFloat{std::isnan(f) ? uint16_t{0x7fc0} : f32_to_bf16(f)};
    } else if constexpr (kIsNarrowFloat<S>) {
        return cast_value<D>(narrow_to_float(s));
    } else if constexpr (std::is_same_v<S, Bool>) {
        return cast_value<D>(static_cast<uint8_t>(s.byte != 0));
    } else if constexpr (std::is_same_v<D, Half>) {
        return Half{f32_to_f16(cast_value<float>(s))};
    } else if constexpr (std::is_same_v<D, BFloat>) {
        return BFloat{f32_to_bf16(cast_value<float>(s))};
    } else if constexpr (std::is_same_v<D, Bool>) {
        return Bool{static_cast<uint8_t>(s != 0)};
    } else if constexpr (std::is_floating_point_v<D>) {
        return static_cast<D>(s);
    } else if constexpr (std::is_floating_point_v<S>) {
        return float_to_int<D>(s);
    } else {
        return static_cast<D>(s); // integer -> integer wraps (two's complement)
    }
}

template <class D, class S>
void convert_typed(const std::byte* src, std::byte* dst, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i) {
        S s;
        std::memcpy(&s, src + i * sizeof(S), sizeof(S));
        const D d = cast_value<D>(s);
        std::memcpy(dst + i * sizeof(D), &d, sizeof(D));
    }
}

// Calls fn(T{}) with the storage type of a castable dtype.
template <class Fn>
void with_type(DType d, Fn&& fn)
{
    switch (d) {
    case DType::f64: fn(double{}); break;
    case DType::f32: fn(float{}); break;
    case DType::f16: fn(Half{}); break;
    case DType::bf16: fn(BFloat{}); break;
    case DType::i64: fn(int64_t{}); break;
    case DType::i32: fn(int32_t{}); break;
    case DType::i16: fn(int16_t{}); break;
    case DType::i8: fn(int8_t{}); break;
    case DType::u64: fn(uint64_t{}); break;
    case DType::u32: fn(uint32_t{}); break;
    case DType::u16: fn(uint16_t{}); break;
    case DType::u8: fn(uint8_t{}); break;
    case DType::boolean: fn(Bool{}); break;
    default: break;
    }
}

// Rounds a binary32 to a float8 format with `man` mantissa bits and exponent bias `bias`;
// values at or above `overflow_bits` (as float32 bits) become `overflow`, NaN becomes `nan`.
uint8_t f32_to_f8(float f, uint32_t man, uint32_t bias, uint32_t overflow_bits, uint8_t overflow,
                  uint8_t nan)
{
    const uint32_t x = float_bits(f);
    const uint8_t sign = static_cast<uint8_t>((x >> 24) & 0x80u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return static_cast<uint8_t>(sign | nan);
    if (ax >= overflow_bits)
        return static_cast<uint8_t>(sign | overflow);
    const uint32_t drop = 23u - man;                 // float mantissa bits that go away
    const uint32_t min_normal = (128u - bias) << 23; // 2^(1-bias) as float bits
    if (ax < min_normal) {
        const uint32_t unit_exp = 127u - bias + 1u - man; // biased exponent of the subnormal unit
        if (ax <= (unit_exp - 1u) << 23)                  // at most half a unit: rounds to zero
            return sign;
        const uint32_t e = ax >> 23;
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = unit_exp + 23u - e;
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u)))
            ++h;
        return static_cast<uint8_t>(sign | h);
    }
    uint32_t h = (ax - ((127u - bias) << 23)) >> drop;
    const uint32_t rem = ax & ((1u << drop) - 1u);
    const uint32_t half = 1u << (drop - 1u);
    if (rem > half || (rem == half && (h & 1u)))
        ++h;
    return static_cast<uint8_t>(sign | h);
}

} // namespace

uint8_t f32_to_f8_e4m3(float f) { return f32_to_f8(f, 3, 7, 0x43f00000u /* 480 */, 0x7f, 0x7f); }
uint8_t f32_to_f8_e5m2(float f) { return f32_to_f8(f, 2, 15, 0x47800000u /* 65536 */, 0x7c, 0x7f); }

bool is_float_dtype(DType d)
{
    return d == DType::f64 || d == DType::f32 || d == DType::f16 || d == DType::bf16;
}

bool is_integer_dtype(DType d)
{
    switch (d) {
    case DType::i64: case DType::i32: case DType::i16: case DType::i8:
    case DType::u64: case DType::u32: case DType::u16: case DType::u8: return true;
    default: return false;
    }
}

bool is_castable_dtype(DType d) { return is_float_dtype(d) || is_integer_dtype(d) || d == DType::boolean; }

void convert_elements(DType from, const std::byte* src, DType to, std::byte* dst, uint64_t n)
{
    with_type(from, [&](auto s) {
        with_type(to, [&](auto d) { convert_typed<decltype(d), decltype(s)>(src, dst, n); });
    });
}

void store_double(DType d, double v, std::byte* dst)
{
    switch (d) {
    case DType::f8_e4m3: *dst = std::byte{f32_to_f8_e4m3(static_cast<float>(v))}; return;
    case DType::f8_e5m2: *dst = std::byte{f32_to_f8_e5m2(static_cast<float>(v))}; return;
    case DType::c64: {
        const float parts[2] = {static_cast<float>(v), 0.0f};
        std::memcpy(dst, parts, sizeof parts);
        return;
    }
    case DType::c128: {
        const double parts[2] = {v, 0.0};
        std::memcpy(dst, parts, sizeof parts);
        return;
    }
    default: convert_elements(DType::f64, reinterpret_cast<const std::byte*>(&v), d, dst, 1); return;
    }
}

void store_int(DType d, int64_t v, std::byte* dst)
{
    if (is_castable_dtype(d))
        convert_elements(DType::i64, reinterpret_cast<const std::byte*>(&v), d, dst, 1);
    else
        store_double(d, static_cast<double>(v), dst);
}

namespace {

/// Decodes an 8-bit float with `mbits` mantissa bits and exponent bias `bias`. E4M3 (fn) has no
/// infinities and one NaN pattern per sign; E5M2 follows IEEE rules.
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

} // namespace

double load_double(DType d, const std::byte* p)
{
    switch (d) {
    case DType::f8_e4m3: return f8_to_double(static_cast<uint8_t>(*p), 3, 7, false);
    case DType::f8_e5m2: return f8_to_double(static_cast<uint8_t>(*p), 2, 15, true);
    case DType::c64: {
        float re;
        std::memcpy(&re, p, sizeof re);
        return re;
    }
    case DType::c128: {
        double re;
        std::memcpy(&re, p, sizeof re);
        return re;
    }
    default: {
        if (!is_castable_dtype(d))
            return NAN;
        std::byte out[sizeof(double)];
        convert_elements(d, p, DType::f64, out, 1);
        double v;
        std::memcpy(&v, out, sizeof v);
        return v;
    }
    }
}

} // namespace ckpt
