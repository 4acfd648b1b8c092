// SPDX-License-Identifier: Apache-2.0
// A conversion plan: the source inventory, the ops a plugin adds over it, and what was matched.
#pragma once

#include "engine/ops.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckpt::engine {

/// A value in a plan (ckpt_value_id): inputs are 0 .. input_count()-1 in source order, then one
/// id per added op, in order.
using ValueId = uint32_t;

/// One op as a plugin describes it: the C++ mirror of ckpt_op.
struct OpRequest {
    OpKind kind = OpKind::copy;
    /// Output tensor name; empty for a temporary that only feeds later ops.
    std::string output;
    std::vector<ValueId> inputs;
    int64_t axis = 0;
    int64_t index = 0;
    int64_t count = 0;
    std::vector<int64_t> ints;
    double scalar = 0.0;
    DType dtype = DType::invalid;
    Generator generator = Generator::fill;
    std::shared_ptr<const Kernel> kernel;
};

/// Builds the output of one conversion over a source inventory. Nothing is read while a plan is
/// built: every op checks shapes and dtypes when it is added. Thread-compatible (one plan is built
/// from one thread); the tensors from outputs() may outlive the plan and are read lazily.
///
/// Errors are PlanError with the ABI status (NOT_FOUND for unknown names, INVALID_ARGUMENT for
/// bad ops), messages naming the output tensor.
class Plan {
public:
    /// `inputs` in source order. Throws InputError when a name appears twice.
    explicit Plan(std::vector<NamedTensor> inputs);

    size_t input_count() const { return m_inputs.size(); }
    const NamedTensor& input_at(size_t index) const { return m_inputs.at(index); }

    /// Refers to source tensor `name` and marks it matched.
    ValueId input(std::string_view name);
    /// Adds an op; returns its value id. A COPY's value is its input tensor itself, so a tensor
    /// copied to two names stays one TensorPtr (writers see the tie).
    ValueId add(OpRequest op);
    /// Keeps `kernel` alive until the plan is destroyed (add() does this for its op's kernel).
    void adopt(std::shared_ptr<const Kernel> kernel) { m_kernels.push_back(std::move(kernel)); }
    /// Marks source tensor `name` matched without producing anything from it.
    void drop(std::string_view name);
    /// Records "Matched <old> -> <new>" for `--debug`.
    void note_match(std::string_view old_key, std::string_view new_key);

    size_t value_count() const { return m_values.size(); }
    /// Throws PlanError(INVALID_ARGUMENT) for an id that does not exist.
    const TensorInfo& value_info(ValueId id) const;
    /// The input or output name of a value; empty for a temporary.
    const std::string& value_name(ValueId id) const;
    TensorPtr value(ValueId id) const;

    /// Output tensors in the order their ops were added (temporaries excluded).
    std::vector<NamedTensor> outputs() const;
    /// Source tensors neither referenced nor dropped, in source order.
    std::vector<std::string> unmatched() const;
    bool is_matched(size_t input_index) const { return m_matched.at(input_index); }
    /// "Matched <old> -> <new>" lines in the order they were noted.
    const std::vector<std::string>& match_lines() const { return m_match_lines; }

    /// The plan for `--dry-run`: one line per output tensor, in output order:
    ///     <name> <DTYPE>[<shape>] = <expr>
    /// where <expr> is a source tensor name, or `<op>(<input expr>, ..., <args>)` with <op> one of
    /// transpose split concat row_permute scale add cast reshape kernel fill tril inv_freq arange
    /// (a copy is just its input's expr) and <args> as "axis=0, 0 of 3", "perm=[1, 0]",
    /// "rows=[...]", "factor=0.5", "BF16", "[1, 64]", "value=-10000", "base=10000, dim=16".
    /// Example:
    ///     a.q.weight F32[64, 64] = split(transpose(h.0.attn.c_attn.weight), axis=0, 0 of 3)
    /// An expression longer than 1000 characters is shown as `<temporary #id>`.
    std::string describe() const;

    /// The name of the plugin building this plan, given to the kernels it adds (for their errors).
    const std::string& owner() const { return m_owner; }
    void set_owner(std::string plugin) { m_owner = std::move(plugin); }

private:
    struct Value {
        TensorPtr tensor;
        std::string name; // input name, output name, or empty
        std::string expr; // for describe()
    };

    std::string label_for(const OpRequest& op, ValueId id) const;
    const Value& at(ValueId id) const;

    std::vector<NamedTensor> m_inputs;
    std::vector<bool> m_matched;
    std::unordered_map<std::string, size_t> m_input_index;
    // A deque keeps names and infos at fixed addresses, so pointers handed out by the C table's
    // value_info/input_info stay valid for the life of the plan.
    std::deque<Value> m_values;
    std::unordered_map<std::string, ValueId> m_output_index;
    std::vector<ValueId> m_outputs;
    std::vector<std::string> m_match_lines;
    std::string m_owner;
    // Every kernel handed to add(), even by a failed call, so that each is released once, when
    // the plan (and any op still using it) is gone.
    std::vector<std::shared_ptr<const Kernel>> m_kernels;
};

} // namespace ckpt::engine
