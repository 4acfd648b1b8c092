// SPDX-License-Identifier: Apache-2.0
// How torch names element types: storage classes, torch.<dtype> globals and their DTypes.
#pragma once

#include "core/dtype.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ckpt {

/// DType of a storage class global ("torch.FloatStorage" -> F32, "torch.UntypedStorage" -> U8,
/// "torch.cuda.HalfStorage" -> F16); nullopt for quantized or unknown storages.
std::optional<DType> torch_storage_dtype(std::string_view global);

/// DType of a `torch.<dtype>` global ("torch.float32", "torch.float8_e4m3fn", "torch.half");
/// nullopt for unknown ones.
std::optional<DType> torch_dtype(std::string_view global);

/// The legacy storage class name ("FloatStorage") of a dtype, or empty when torch has none and
/// saves it as an UntypedStorage with _rebuild_tensor_v3 (F8, U16, U32, U64).
std::string_view torch_storage_name(DType d);

/// The torch dtype name ("float32", "float8_e4m3fn").
std::string_view torch_dtype_name(DType d);

} // namespace ckpt
