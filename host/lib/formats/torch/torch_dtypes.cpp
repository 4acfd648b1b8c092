// SPDX-License-Identifier: Apache-2.0
// Tables of torch's element type names (torch/storage.py, torch/_utils.py).
#include "formats/torch/torch_dtypes.hpp"

namespace ckpt {

namespace {
struct TorchType {
    DType dtype;
    std::string_view storage; // legacy storage class, empty when none
    std::string_view name;    // torch.<name>
};
constexpr TorchType kTypes[] = {
    {DType::f64, "DoubleStorage", "float64"},
    {DType::f32, "FloatStorage", "float32"},
    {DType::f16, "HalfStorage", "float16"},
    {DType::bf16, "BFloat16Storage", "bfloat16"},
    {DType::i64, "LongStorage", "int64"},
    {DType::i32, "IntStorage", "int32"},
    {DType::i16, "ShortStorage", "int16"},
    {DType::i8, "CharStorage", "int8"},
    {DType::u8, "ByteStorage", "uint8"},
    {DType::boolean, "BoolStorage", "bool"},
    {DType::c64, "ComplexFloatStorage", "complex64"},
    {DType::c128, "ComplexDoubleStorage", "complex128"},
    {DType::f8_e4m3, "", "float8_e4m3fn"},
    {DType::f8_e5m2, "", "float8_e5m2"},
    {DType::u16, "", "uint16"},
    {DType::u32, "", "uint32"},
    {DType::u64, "", "uint64"},
};

// Aliases torch.<alias> resolves to (torch.float is torch.float32, ...).
struct Alias {
    std::string_view name;
    DType dtype;
};
constexpr Alias kAliases[] = {
    {"float", DType::f32}, {"double", DType::f64}, {"half", DType::f16}, {"long", DType::i64},
    {"int", DType::i32},   {"short", DType::i16},  {"cfloat", DType::c64}, {"cdouble", DType::c128},
};

std::string_view strip_torch(std::string_view g)
{
    if (g.substr(0, 11) == "torch.cuda.")
        return g.substr(11);
    if (g.substr(0, 6) == "torch.")
        return g.substr(6);
    return {};
}
} // namespace

std::optional<DType> torch_storage_dtype(std::string_view global)
{
    const std::string_view n = strip_torch(global);
    if (n.empty())
        return std::nullopt;
    if (n == "UntypedStorage" || n == "storage.UntypedStorage" || n == "storage._UntypedStorage")
        return DType::u8;
    for (const auto& t : kTypes)
        if (!t.storage.empty() && t.storage == n)
            return t.dtype;
    return std::nullopt;
}

std::optional<DType> torch_dtype(std::string_view global)
{
    const std::string_view n = strip_torch(global);
    if (n.empty())
        return std::nullopt;
    for (const auto& t : kTypes)
        if (t.name == n)
            return t.dtype;
    for (const auto& a : kAliases)
        if (a.name == n)
            return a.dtype;
    return std::nullopt;
}

std::string_view torch_storage_name(DType d)
{
    for (const auto& t : kTypes)
        if (t.dtype == d)
            return t.storage;
    return {};
}

std::string_view torch_dtype_name(DType d)
{
    for (const auto& t : kTypes)
        if (t.dtype == d)
            return t.name;
    return {};
}

} // namespace ckpt
