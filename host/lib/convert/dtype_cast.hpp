// SPDX-License-Identifier: Apache-2.0
// `--dtype`: every floating-point tensor written in one float dtype, cast lazily as it streams.
#pragma once

#include "core/dtype.hpp"
#include "core/node.hpp"
#include "core/tensor.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::convert {

/// The dtype names `--dtype` takes, as torch and config.json's `torch_dtype` spell them.
inline constexpr const char* kDtypeChoices[] = {"float32", "bfloat16", "float16"};

/// DType::f32 / bf16 / f16 for "float32" / "bfloat16" / "float16"; nullopt for anything else.
std::optional<DType> parse_float_dtype(std::string_view name);
/// "float32", "bfloat16", "float16", "float64"; nullopt for other dtypes.
std::optional<std::string> torch_dtype_name(DType d);

/// Finite values that a cast turned into infinity because they lie beyond the target's range
/// (float16: |x| >= 65520), counted per tensor while the cast tensors are read. Thread safe.
class CastOverflows {
public:
    void add(const std::string& tensor, uint64_t count);
    /// Tensor name -> values that overflowed, for the tensors where any did.
    std::map<std::string, uint64_t> counts() const;

private:
    mutable std::mutex m_mutex;
    std::map<std::string, uint64_t> m_counts;
};

/// `tensors` with every F64/F32/F16/BF16 tensor of another dtype than `to` replaced by the
/// engine's CAST op (round to nearest even, as torch's `Tensor.to`; NaN and infinities stay NaN
/// and infinities); integer and bool tensors, and tensors already in `to`, unchanged. Tied names
/// keep sharing one tensor. Casts that can overflow record overflows into `overflows` (under the first name
/// of the tensor) as they are read. Nothing is read here.
std::vector<NamedTensor> cast_floats(const std::vector<NamedTensor>& tensors, DType to,
                                     const std::shared_ptr<CastOverflows>& overflows);

/// The same for every tensor in a nested checkpoint tree (repack keeps the tree of a .bin or
/// .mdl); messages name tensors by their dotted path.
Node cast_floats(const Node& root, DType to, const std::shared_ptr<CastOverflows>& overflows);

/// One cast tensor as cast_floats() makes it (for a single tensor outside a list).
TensorPtr cast_float(const TensorPtr& tensor, const std::string& name, DType to,
                     const std::shared_ptr<CastOverflows>& overflows);

/// Logs one warning per tensor that overflowed, naming it and the count.
void warn_overflows(const CastOverflows& overflows);

} // namespace ckpt::convert
