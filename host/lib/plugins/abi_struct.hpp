// SPDX-License-Identifier: Apache-2.0
// Reading structs a plugin fills: accept any struct_size from the ABI 1.0 size upward, take the
// prefix this host knows and zero the rest (docs/abi.md §2, "append-only").
#pragma once

#include "core/tensor.hpp"

#include <ckptconv/plugin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace ckpt::host {

/// The size of each struct as ABI 1.0 froze it (LP64): the smallest struct_size a host accepts.
/// abi_layout.cpp checks these against the headers; a struct that grows in a later minor keeps its
/// 1.0 size here, so plugins built before the growth still load.
template <class T>
struct Abi10Size;
template <> struct Abi10Size<ckpt_plugin> { static constexpr uint32_t value = 88; };
template <> struct Abi10Size<ckpt_model> { static constexpr uint32_t value = 56; };
template <> struct Abi10Size<ckpt_converter> { static constexpr uint32_t value = 80; };
template <> struct Abi10Size<ckpt_container> { static constexpr uint32_t value = 72; };
template <> struct Abi10Size<ckpt_op> { static constexpr uint32_t value = 128; };
template <> struct Abi10Size<ckpt_kernel> { static constexpr uint32_t value = 32; };
template <> struct Abi10Size<ckpt_tensor_info> { static constexpr uint32_t value = 48; };
template <> struct Abi10Size<ckpt_tensor_source> { static constexpr uint32_t value = 56; };
template <> struct Abi10Size<ckpt_tensor_sink> { static constexpr uint32_t value = 48; };

template <class T>
inline constexpr uint32_t kAbi10Size = Abi10Size<T>::value;

/// A host-sized copy of the struct at `p`: the first min(p->struct_size, sizeof(T)) bytes, the
/// rest zero (fields of a later minor than the writer's read as absent). nullopt when `p` is NULL
/// or its struct_size is below the ABI 1.0 size. The copy's struct_size is left as the writer set
/// it, so code can still ask whether a field was written (abi_has_field).
template <class T>
std::optional<T> abi_prefix(const T* p)
{
    if (!p || p->struct_size < kAbi10Size<T>)
        return std::nullopt;
    T out{};
    std::memcpy(static_cast<void*>(&out), static_cast<const void*>(p), std::min<size_t>(p->struct_size, sizeof(T)));
    return out;
}

/// Fills the caller's `out` (whose struct_size the caller set) from a host-sized `value`: only the
/// bytes the caller's struct has, so an older plugin's smaller struct is never overrun. False
/// when out->struct_size is below the ABI 1.0 size.
template <class T>
bool abi_fill(T* out, const T& value)
{
    const uint32_t size = out->struct_size;
    if (size < kAbi10Size<T>)
        return false;
    std::memcpy(static_cast<void*>(out), static_cast<const void*>(&value), std::min<size_t>(size, sizeof(T)));
    out->struct_size = size;
    return true;
}

/// True when a struct of `struct_size` bytes (as its writer set it) holds the member ending at
/// `end` (offsetof(member) + sizeof(member)).
inline bool abi_has_field(uint32_t struct_size, size_t end) { return struct_size >= end; }

/// A host-sized ckpt_tensor_info describing `t` as `name`; its pointers borrow from `t` and `name`.
inline ckpt_tensor_info abi_tensor_info(const TensorInfo& t, const std::string& name)
{
    ckpt_tensor_info i{};
    i.struct_size = sizeof i;
    i.rank = static_cast<uint32_t>(t.shape.size());
    i.name = ckpt_str{name.data(), name.size()};
    i.dtype = static_cast<ckpt_dtype>(t.dtype);
    i.shape = t.shape.data();
    i.nbytes = t.nbytes();
    return i;
}

} // namespace ckpt::host
