// SPDX-License-Identifier: Apache-2.0
// A conversion plan: inventory lookups, op construction by value id, matching and --dry-run text.
#include "engine/plan.hpp"

#include <fmt/format.h>

namespace ckpt::engine {

namespace {
constexpr size_t kMaxExpr = 1000;
}

Plan::Plan(std::vector<NamedTensor> inputs) : m_inputs(std::move(inputs)), m_matched(m_inputs.size(), false)
{
    if (m_inputs.size() >= UINT32_MAX / 2)
        throw_input("the source inventory has {} tensors; at most {} are supported", m_inputs.size(),
                    UINT32_MAX / 2);
    for (size_t i = 0; i < m_inputs.size(); ++i) {
        const NamedTensor& t = m_inputs[i];
        if (!t.tensor)
            throw_input("source tensor '{}' has no data", t.name);
        if (!m_input_index.emplace(t.name, i).second)
            throw_input("the source inventory lists tensor '{}' twice", t.name);
        m_values.push_back({t.tensor, t.name, t.name});
    }
}

const Plan::Value& Plan::at(ValueId id) const
{
    if (id >= m_values.size())
        throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                        fmt::format("value id {} does not exist (the plan has {} values)", id, m_values.size()));
    return m_values[id];
}

const TensorInfo& Plan::value_info(ValueId id) const { return at(id).tensor->info(); }
const std::string& Plan::value_name(ValueId id) const { return at(id).name; }
TensorPtr Plan::value(ValueId id) const { return at(id).tensor; }

ValueId Plan::input(std::string_view name)
{
    const auto it = m_input_index.find(std::string(name));
    if (it == m_input_index.end())
        throw PlanError(CKPT_ERR_NOT_FOUND, fmt::format("no source tensor named '{}' (the checkpoint has {} tensors)",
                                                        name, m_inputs.size()));
    m_matched[it->second] = true;
    return static_cast<ValueId>(it->second);
}

void Plan::drop(std::string_view name)
{
    const auto it = m_input_index.find(std::string(name));
    if (it == m_input_index.end())
        throw PlanError(CKPT_ERR_NOT_FOUND,
                        fmt::format("cannot drop '{}': no source tensor has that name", name));
    m_matched[it->second] = true;
}

void Plan::note_match(std::string_view old_key, std::string_view new_key)
{
    m_match_lines.push_back(fmt::format("Matched {} -> {}", old_key, new_key));
}

std::string Plan::label_for(const OpRequest& op, ValueId id) const
{
    if (!op.output.empty())
        return fmt::format("output tensor '{}'", op.output);
    return fmt::format("temporary value #{}", id);
}

ValueId Plan::add(OpRequest op)
{
    if (op.kernel)
        m_kernels.push_back(op.kernel);
    if (m_values.size() >= UINT32_MAX)
        throw PlanError(CKPT_ERR_INVALID_ARGUMENT, "the plan has too many values");
    const auto id = static_cast<ValueId>(m_values.size());
    const std::string label = label_for(op, id);

    if (!op.output.empty()) {
        const auto it = m_output_index.find(op.output);
        if (it != m_output_index.end())
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{} is produced twice: by value #{} and again by a {} op", label,
                                        it->second, op_kind_name(op.kind)));
    }

    OpSpec spec;
    spec.kind = op.kind;
    for (size_t k = 0; k < op.inputs.size(); ++k) {
        const ValueId in = op.inputs[k];
        if (in >= m_values.size())
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{}: {} input {} is value id {}, which does not exist (the plan has {} "
                                        "values)",
                                        label, op_kind_name(op.kind), k, in, m_values.size()));
        spec.inputs.push_back(m_values[in].tensor);
        spec.input_names.push_back(m_values[in].name);
    }
    spec.axis = op.axis;
    spec.index = op.index;
    spec.count = op.count;
    spec.ints = std::move(op.ints);
    spec.scalar = op.scalar;
    spec.dtype = op.dtype;
    spec.generator = op.generator;
    spec.kernel = std::move(op.kernel);

    OpPtr built = make_op(std::move(spec), label);
    // An input used by id (without input(name)) is matched all the same.
    for (ValueId in : op.inputs)
        if (in < m_inputs.size())
            m_matched[in] = true;

    Value v;
    v.name = op.output;
    if (op.kind == OpKind::copy) {
        v.tensor = m_values[op.inputs[0]].tensor;
        v.expr = m_values[op.inputs[0]].expr;
    } else {
        std::string expr = built->name() + "(";
        for (size_t k = 0; k < op.inputs.size(); ++k)
            expr += (k ? ", " : "") + m_values[op.inputs[k]].expr;
        const std::string args = built->args();
        if (!args.empty())
            expr += (op.inputs.empty() ? "" : ", ") + args;
        expr += ")";
        v.expr = expr.size() > kMaxExpr ? fmt::format("<temporary #{}>", id) : std::move(expr);
        v.tensor = std::move(built);
    }
    m_values.push_back(std::move(v));
    if (!op.output.empty()) {
        m_output_index.emplace(op.output, id);
        m_outputs.push_back(id);
    }
    return id;
}

std::vector<NamedTensor> Plan::outputs() const
{
    std::vector<NamedTensor> out;
    out.reserve(m_outputs.size());
    for (ValueId id : m_outputs)
        out.push_back({m_values[id].name, m_values[id].tensor});
    return out;
}

std::vector<std::string> Plan::unmatched() const
{
    std::vector<std::string> names;
    for (size_t i = 0; i < m_inputs.size(); ++i)
        if (!m_matched[i])
            names.push_back(m_inputs[i].name);
    return names;
}

std::string Plan::describe() const
{
    std::string text;
    for (ValueId id : m_outputs) {
        const Value& v = m_values[id];
        text += fmt::format("{} {} = {}\n", v.name, ckpt::describe(v.tensor->info()), v.expr);
    }
    return text;
}

} // namespace ckpt::engine
