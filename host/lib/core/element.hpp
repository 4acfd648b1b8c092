// SPDX-License-Identifier: Apache-2.0
// Reading single elements of any dtype as double (comparisons, reports) and 16-bit float decoding.
#pragma once

#include "core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ckpt {

/// IEEE binary16 bits to float (exact).
float half_to_float(uint16_t h);
/// bfloat16 bits to float (exact: the high half of a binary32).
inline float bf16_to_float(uint16_t b)
{
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

/// True for dtypes whose elements are real floating-point numbers.
bool is_float_dtype(DType d);

/// The element at `p` (little-endian) as a double. Complex dtypes give the real part; F8 formats
/// are decoded exactly.
double element_as_double(DType d, const std::byte* p);

} // namespace ckpt
