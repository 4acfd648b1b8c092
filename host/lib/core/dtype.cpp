// SPDX-License-Identifier: Apache-2.0
// Names of element types.
#include "core/dtype.hpp"

namespace ckpt {

namespace {
struct DTypeName {
    DType dtype;
    std::string_view name;
};
constexpr DTypeName kNames[] = {
    {DType::f64, "F64"},     {DType::f32, "F32"},         {DType::f16, "F16"},
    {DType::bf16, "BF16"},   {DType::f8_e4m3, "F8_E4M3"}, {DType::f8_e5m2, "F8_E5M2"},
    {DType::i64, "I64"},     {DType::i32, "I32"},         {DType::i16, "I16"},
    {DType::i8, "I8"},       {DType::u64, "U64"},         {DType::u32, "U32"},
    {DType::u16, "U16"},     {DType::u8, "U8"},           {DType::boolean, "BOOL"},
    {DType::c64, "C64"},     {DType::c128, "C128"},
};
constexpr DType kAll[] = {DType::f64, DType::f32, DType::f16, DType::bf16, DType::f8_e4m3,
                          DType::f8_e5m2, DType::i64, DType::i32, DType::i16, DType::i8,
                          DType::u64, DType::u32, DType::u16, DType::u8, DType::boolean,
                          DType::c64, DType::c128};
} // namespace

std::string_view dtype_name(DType d)
{
    for (const auto& n : kNames)
        if (n.dtype == d)
            return n.name;
    return "INVALID";
}

std::optional<DType> dtype_from_name(std::string_view name)
{
    for (const auto& n : kNames)
        if (n.name == name)
            return n.dtype;
    return std::nullopt;
}

const DType* all_dtypes(size_t* count)
{
    *count = sizeof kAll / sizeof kAll[0];
    return kAll;
}

} // namespace ckpt
