// SPDX-License-Identifier: Apache-2.0
// Element types as the host sees them: the SDK's ckpt_dtype values with names and sizes.
#pragma once

#include <ckptconv/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ckpt {

/// Same numeric values as CKPT_DTYPE_* so conversion across the ABI is a cast.
enum class DType : int32_t {
    invalid = CKPT_DTYPE_INVALID,
    f64 = CKPT_DTYPE_F64,
    f32 = CKPT_DTYPE_F32,
    f16 = CKPT_DTYPE_F16,
    bf16 = CKPT_DTYPE_BF16,
    f8_e4m3 = CKPT_DTYPE_F8_E4M3,
    f8_e5m2 = CKPT_DTYPE_F8_E5M2,
    i64 = CKPT_DTYPE_I64,
    i32 = CKPT_DTYPE_I32,
    i16 = CKPT_DTYPE_I16,
    i8 = CKPT_DTYPE_I8,
    u64 = CKPT_DTYPE_U64,
    u32 = CKPT_DTYPE_U32,
    u16 = CKPT_DTYPE_U16,
    u8 = CKPT_DTYPE_U8,
    boolean = CKPT_DTYPE_BOOL,
    c64 = CKPT_DTYPE_C64,
    c128 = CKPT_DTYPE_C128,
};

/// Bytes per element; 0 for invalid.
inline size_t dtype_size(DType d) { return ckpt_dtype_size(static_cast<ckpt_dtype>(d)); }

/// The safetensors spelling ("F32", "BF16", "F8_E4M3", "BOOL", ...), used in every message.
std::string_view dtype_name(DType d);

/// Parses the safetensors spelling; nullopt for an unknown name.
std::optional<DType> dtype_from_name(std::string_view name);

/// Every valid dtype, in enum order (for tests and tables).
const DType* all_dtypes(size_t* count);

} // namespace ckpt
