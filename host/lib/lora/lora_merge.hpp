// SPDX-License-Identifier: Apache-2.0
// Low-rank updates folded into a base weight (W + s * T(B @ A)) as one plan op, exact to one rounding.
#pragma once

#include "core/tensor.hpp"
#include "engine/plan.hpp"

#include <string>
#include <vector>

namespace ckpt::lora {

/// One LoRA factor pair applied to a base weight W[rows, cols]: W += scale * T(B @ A) with
/// A[r, k] and B[m, r]. Not transposed: m = rows, k = cols (nn.Linear). Transposed: k = rows,
/// m = cols (nn.Embedding, a Linear stored fan-in first, a GPT-2 Conv1D).
struct Update {
    engine::ValueId a = 0;
    engine::ValueId b = 0;
    double scale = 1.0;
    bool transposed = false;
};

/// Throws InputError, naming `base_name` and the factor, unless the base is a 2-D float tensor,
/// A and B are 2-D float tensors of the same rank r >= 1, and their shapes fit the base as
/// `transposed` says.
void check_update(const engine::Plan& plan, const std::string& base_name, engine::ValueId base, const Update& u);

/// Adds the op `output` = base + sum of the updates (in `base`'s dtype and shape) to `plan`, after
/// check_update on each. The op is a host kernel: it holds the base, its factors and the result
/// at once (one matrix group, never the model), accumulates every product and the sum in float64
/// row block by row block, and rounds each element once to the base's dtype.
engine::ValueId add_merge(engine::Plan& plan, const std::string& base_name, engine::ValueId base,
                          const std::vector<Update>& updates, const std::string& output);

/// Writes `v` as one element of the float dtype `d`, rounded to nearest-even once (store_double
/// goes through float32 for F16/BF16 like torch, which can round twice). For F16/BF16 the value
/// is first rounded to float32 with round-to-odd, which makes the second rounding exact.
void store_rounded_once(DType d, double v, std::byte* dst);

} // namespace ckpt::lora
