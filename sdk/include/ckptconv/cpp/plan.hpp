// SPDX-License-Identifier: Apache-2.0
// C++ view of a plan under construction (ckpt_plan_api): one call per output tensor.
#pragma once

#include <ckptconv/cpp/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::sdk {

/// A tensor description owned by C++ code.
struct TensorDesc {
    std::string name;
    ckpt_dtype dtype = CKPT_DTYPE_INVALID;
    std::vector<int64_t> shape;
    uint64_t nbytes = 0;

    static TensorDesc from(const ckpt_tensor_info& info)
    {
        TensorDesc d;
        d.name = from_str(info.name);
        d.dtype = info.dtype;
        d.shape.assign(info.shape, info.shape + info.rank);
        d.nbytes = info.nbytes;
        return d;
    }
};

/// Wraps the host's plan; valid during one plan_checkpoint call. Every method throws Error when
/// the host refuses (the host has already recorded why).
class Plan {
public:
    Plan(const ckpt_host* host, ckpt_plan* plan) : m_api(host->plan), m_plan(plan) {}

    size_t input_count() const { return m_api->input_count(m_plan); }
    TensorDesc input_info(size_t index) const
    {
        ckpt_tensor_info info{};
        info.struct_size = sizeof info;
        check(m_api->input_info(m_plan, index, &info), "plan input_info");
        return TensorDesc::from(info);
    }
    std::vector<std::string> input_names() const
    {
        std::vector<std::string> names;
        for (size_t i = 0, n = input_count(); i < n; ++i)
            names.push_back(input_info(i).name);
        return names;
    }
    TensorDesc value_info(ckpt_value_id id) const
    {
        ckpt_tensor_info info{};
        info.struct_size = sizeof info;
        check(m_api->value_info(m_plan, id, &info), "plan value_info");
        return TensorDesc::from(info);
    }

    /// Refers to a source tensor and marks it matched.
    ckpt_value_id input(std::string_view name)
    {
        ckpt_value_id id = 0;
        ckpt_status st = m_api->input(m_plan, ckpt_str{name.data(), name.size()}, &id);
        if (st != CKPT_OK)
            throw Error(st, "no source tensor named '" + std::string(name) + "'");
        return id;
    }
    void drop(std::string_view name) { check(m_api->drop(m_plan, ckpt_str{name.data(), name.size()}), "plan drop"); }
    void note_match(std::string_view old_key, std::string_view new_key)
    {
        m_api->note_match(m_plan, ckpt_str{old_key.data(), old_key.size()},
                          ckpt_str{new_key.data(), new_key.size()});
    }

    /// Adds a fully described op. `out` empty = temporary value.
    ckpt_value_id add(ckpt_op op)
    {
        op.struct_size = sizeof op;
        ckpt_value_id id = 0;
        check(m_api->add(m_plan, &op, &id), "plan add");
        if (op.output.size > 0) {
            TensorDesc d = value_info(id);
            d.name = from_str(op.output);
            m_outputs.push_back(std::move(d));
        }
        return id;
    }

    /// Every named output added through this object so far, in order (for checks on the
    /// converted tensors, e.g. ModelShapes on the Hugging Face side of a CS -> HF plan).
    const std::vector<TensorDesc>& outputs() const { return m_outputs; }

    ckpt_value_id copy(std::string_view out, ckpt_value_id in) { return unary(CKPT_OP_COPY, out, in); }
    ckpt_value_id transpose(std::string_view out, ckpt_value_id in, const std::vector<int64_t>& perm = {})
    {
        ckpt_op op = base(CKPT_OP_TRANSPOSE, out, &in, 1);
        op.ints = perm.data();
        op.int_count = perm.size();
        return add(op);
    }
    ckpt_value_id split(std::string_view out, ckpt_value_id in, int64_t axis, int64_t index, int64_t count)
    {
        ckpt_op op = base(CKPT_OP_SPLIT, out, &in, 1);
        op.axis = axis;
        op.index = index;
        op.count = count;
        return add(op);
    }
    ckpt_value_id concat(std::string_view out, const std::vector<ckpt_value_id>& ins, int64_t axis)
    {
        ckpt_op op = base(CKPT_OP_CONCAT, out, ins.data(), ins.size());
        op.axis = axis;
        return add(op);
    }
    ckpt_value_id row_permute(std::string_view out, ckpt_value_id in, const std::vector<int64_t>& rows)
    {
        ckpt_op op = base(CKPT_OP_ROW_PERMUTE, out, &in, 1);
        op.ints = rows.data();
        op.int_count = rows.size();
        return add(op);
    }
    ckpt_value_id scale(std::string_view out, ckpt_value_id in, double factor)
    {
        ckpt_op op = base(CKPT_OP_SCALE, out, &in, 1);
        op.scalar = factor;
        return add(op);
    }
    ckpt_value_id sum(std::string_view out, const std::vector<ckpt_value_id>& ins)
    {
        return add(base(CKPT_OP_ADD, out, ins.data(), ins.size()));
    }
    ckpt_value_id cast(std::string_view out, ckpt_value_id in, ckpt_dtype dtype)
    {
        ckpt_op op = base(CKPT_OP_CAST, out, &in, 1);
        op.dtype = dtype;
        return add(op);
    }
    ckpt_value_id reshape(std::string_view out, ckpt_value_id in, const std::vector<int64_t>& shape)
    {
        ckpt_op op = base(CKPT_OP_RESHAPE, out, &in, 1);
        op.ints = shape.data();
        op.int_count = shape.size();
        return add(op);
    }
    ckpt_value_id generate(std::string_view out, ckpt_generator gen, ckpt_dtype dtype,
                           const std::vector<int64_t>& shape, double scalar = 0.0)
    {
        ckpt_op op = base(CKPT_OP_GENERATE, out, nullptr, 0);
        op.generator = gen;
        op.dtype = dtype;
        op.ints = shape.data();
        op.int_count = shape.size();
        op.scalar = scalar;
        return add(op);
    }

    ckpt_plan* raw() const noexcept { return m_plan; }

private:
    ckpt_value_id unary(ckpt_op_kind kind, std::string_view out, ckpt_value_id in)
    {
        return add(base(kind, out, &in, 1));
    }
    static ckpt_op base(ckpt_op_kind kind, std::string_view out, const ckpt_value_id* ins, size_t n)
    {
        ckpt_op op{};
        op.struct_size = sizeof op;
        op.kind = kind;
        op.output = ckpt_str{out.data(), out.size()};
        op.inputs = ins;
        op.input_count = n;
        return op;
    }

    const ckpt_plan_api* m_api;
    ckpt_plan* m_plan;
    std::vector<TensorDesc> m_outputs;
};

} // namespace ckpt::sdk
