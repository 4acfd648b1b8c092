// SPDX-License-Identifier: Apache-2.0
// The ckpt_plan_api C table: argument checks, exception-to-status mapping, ABI <-> Plan types.
#include "engine/plan_api.hpp"

#include "plugins/abi_struct.hpp"
#include "plugins/host_services.hpp"

#include <ckptconv/version.h>
#include <fmt/format.h>

#include <new>
#include <optional>

namespace ckpt::engine {

namespace {

Plan* P(ckpt_plan* p) { return reinterpret_cast<Plan*>(p); }
const Plan* P(const ckpt_plan* p) { return reinterpret_cast<const Plan*>(p); }

std::string_view view(ckpt_str s) { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }

// Runs fn, mapping exceptions to statuses; their message goes to the host's error channel as a
// refusal (host::note_host_refusal), which the caller of plan_checkpoint reports.
template <class Fn>
ckpt_status guarded(Fn&& fn) noexcept
{
    try {
        return fn();
    } catch (const PlanError& e) {
        host::note_host_refusal(e.what());
        return e.status();
    } catch (const InputError& e) {
        host::note_host_refusal(e.what());
        return CKPT_ERR_BAD_INPUT;
    } catch (const std::bad_alloc&) {
        host::note_host_refusal("out of memory while building the plan");
        return CKPT_ERR_NO_MEMORY;
    } catch (const std::exception& e) {
        host::note_host_refusal(e.what());
        return CKPT_ERR_INTERNAL;
    } catch (...) {
        host::note_host_refusal("unknown exception while building the plan");
        return CKPT_ERR_INTERNAL;
    }
}

/// Fills the plugin's `out` with as many bytes as its struct_size says it has.
void fill_info(const TensorInfo& t, const std::string& name, ckpt_tensor_info* out, const char* fn)
{
    if (!out)
        throw PlanError(CKPT_ERR_INVALID_ARGUMENT, fmt::format("plan {}: the output pointer is NULL", fn));
    if (!host::abi_fill(out, host::abi_tensor_info(t, name)))
        throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                        fmt::format("plan {}: ckpt_tensor_info.struct_size is {}, expected at least {}", fn,
                                    out->struct_size, host::kAbi10Size<ckpt_tensor_info>));
}

size_t api_input_count(const ckpt_plan* plan) noexcept { return plan ? P(plan)->input_count() : 0; }

ckpt_status api_input_info(const ckpt_plan* cplan, size_t index, ckpt_tensor_info* out) noexcept
{
    if (!cplan)
        return CKPT_ERR_INVALID_ARGUMENT;
    auto* plan = const_cast<ckpt_plan*>(cplan);
    return guarded([&] {
        if (index >= P(plan)->input_count())
            throw PlanError(CKPT_ERR_NOT_FOUND, fmt::format("input index {} is outside the {} source tensors", index,
                                                            P(plan)->input_count()));
        const NamedTensor& t = P(plan)->input_at(index);
        fill_info(t.tensor->info(), t.name, out, "input_info");
        return CKPT_OK;
    });
}

ckpt_status api_input(ckpt_plan* plan, ckpt_str name, ckpt_value_id* out) noexcept
{
    if (!plan)
        return CKPT_ERR_INVALID_ARGUMENT;
    return guarded([&] {
        const ValueId id = P(plan)->input(view(name));
        if (out)
            *out = id;
        return CKPT_OK;
    });
}

ckpt_status api_add(ckpt_plan* plan, const ckpt_op* op, ckpt_value_id* out) noexcept
{
    if (!plan)
        return CKPT_ERR_INVALID_ARGUMENT;
    return guarded([&] {
        if (!op)
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT, "plan add: the op pointer is NULL");
        // The op as this host knows it: an older plugin's shorter struct reads as zero beyond its end.
        const std::optional<ckpt_op> copy = host::abi_prefix(op);
        if (!copy)
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("plan add: ckpt_op.struct_size is {}, expected at least {}", op->struct_size,
                                        host::kAbi10Size<ckpt_op>));
        op = &*copy;
        OpRequest req;
        req.output = std::string(view(op->output));
        const std::string who = req.output.empty() ? std::string("a temporary value")
                                                    : fmt::format("output tensor '{}'", req.output);
        // Take the kernel first so it is released even when the op is rejected below. ckpt_kernel
        // is embedded in ckpt_op and frozen at its 1.0 layout (docs/abi.md §7).
        if (op->kind == CKPT_OP_KERNEL) {
            if (op->kernel.struct_size < host::kAbi10Size<ckpt_kernel>)
                throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                                fmt::format("{}: ckpt_kernel.struct_size is {}, expected at least {}", who,
                                            op->kernel.struct_size, host::kAbi10Size<ckpt_kernel>));
            if (op->kernel.run || op->kernel.release)
            {
                req.kernel = std::make_shared<Kernel>(op->kernel, P(plan)->owner());
                P(plan)->adopt(req.kernel);
            }
        }
        if (!is_known_op_kind(op->kind))
            throw PlanError(CKPT_ERR_UNSUPPORTED,
                            fmt::format("{}: op kind {} is unknown to this host (ABI {}.{})", who, op->kind,
                                        CKPT_ABI_VERSION_MAJOR, CKPT_ABI_VERSION_MINOR));
        if (op->input_count && !op->inputs)
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{}: input_count is {} but inputs is NULL", who, op->input_count));
        if (op->int_count && !op->ints)
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{}: int_count is {} but ints is NULL", who, op->int_count));
        if (op->int_count > (size_t{1} << 32) || op->input_count > (size_t{1} << 32))
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{}: implausible counts ({} inputs, {} ints)", who, op->input_count,
                                        op->int_count));
        // Only ROW_PERMUTE takes more than a shape's worth of ints; refuse before copying them.
        if (op->kind != CKPT_OP_ROW_PERMUTE && op->int_count > CKPT_MAX_RANK)
            throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                            fmt::format("{}: {} takes at most {} ints, found {}", who,
                                        op_kind_name(static_cast<OpKind>(op->kind)), CKPT_MAX_RANK, op->int_count));
        if (op->kind == CKPT_OP_ROW_PERMUTE && op->input_count == 1 && op->inputs[0] < P(plan)->value_count()) {
            const TensorInfo& t = P(plan)->value_info(op->inputs[0]);
            if (!t.shape.empty() && op->int_count != static_cast<uint64_t>(t.shape[0]))
                throw PlanError(CKPT_ERR_INVALID_ARGUMENT,
                                fmt::format("{}: row_permute needs one source row per row of {} ({}), found {} entries",
                                            who, describe(t), t.shape[0], op->int_count));
        }
        req.kind = static_cast<OpKind>(op->kind);
        if (op->input_count)
            req.inputs.assign(op->inputs, op->inputs + op->input_count);
        req.axis = op->axis;
        req.index = op->index;
        req.count = op->count;
        if (op->int_count)
            req.ints.assign(op->ints, op->ints + op->int_count);
        req.scalar = op->scalar;
        req.dtype = static_cast<DType>(op->dtype);
        req.generator = static_cast<Generator>(op->generator);
        const ValueId id = P(plan)->add(std::move(req));
        if (out)
            *out = id;
        return CKPT_OK;
    });
}

ckpt_status api_drop(ckpt_plan* plan, ckpt_str name) noexcept
{
    if (!plan)
        return CKPT_ERR_INVALID_ARGUMENT;
    return guarded([&] {
        P(plan)->drop(view(name));
        return CKPT_OK;
    });
}

ckpt_status api_value_info(const ckpt_plan* cplan, ckpt_value_id value, ckpt_tensor_info* out) noexcept
{
    if (!cplan)
        return CKPT_ERR_INVALID_ARGUMENT;
    auto* plan = const_cast<ckpt_plan*>(cplan);
    return guarded([&] {
        fill_info(P(plan)->value_info(value), P(plan)->value_name(value), out, "value_info");
        return CKPT_OK;
    });
}

void api_note_match(ckpt_plan* plan, ckpt_str old_key, ckpt_str new_key) noexcept
{
    if (!plan)
        return;
    guarded([&] {
        P(plan)->note_match(view(old_key), view(new_key));
        return CKPT_OK;
    });
}

const ckpt_plan_api kPlanApi = {
    sizeof(ckpt_plan_api), api_input_count, api_input_info, api_input, api_add,
    api_drop,              api_value_info,  api_note_match,
};

} // namespace

const ckpt_plan_api* plan_api() { return &kPlanApi; }

void install_plan_api() { host::set_plan_api(&kPlanApi); }

} // namespace ckpt::engine
