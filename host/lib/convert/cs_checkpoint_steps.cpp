// SPDX-License-Identifier: Apache-2.0
// The non-model part of CS checkpoint steps (Model Zoo BaseCheckpointConverter_CS_CS and the
// sideband-sparsity finalisation of BaseCheckpointConverter_HF_CS), on the host's value tree.
#include "convert/cs_checkpoint_steps.hpp"

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <cstring>
#include <optional>

namespace ckpt::convert {

namespace {

std::optional<int64_t> integer(const Node* n)
{
    if (!n)
        return std::nullopt;
    if (n->kind() == Node::Kind::integer)
        return n->as_int();
    if (n->kind() == Node::Kind::floating && std::isfinite(n->as_float()))
        return static_cast<int64_t>(n->as_float()); // Python int() truncates
    return std::nullopt;
}

void fix_scheduler_epoch(Node& root)
{
    const auto step = integer(root.find("global_step"));
    Node* sched = root.find("lr_scheduler");
    if (!step || !sched || !sched->is_map())
        return;
    const auto last = integer(sched->find("last_epoch"));
    if (!last || *last == *step)
        return;
    log::info("lr_scheduler.last_epoch {} differs from global_step {} (a checkpoint saved before cs-2.0); set to "
              "global_step",
              *last, *step);
    sched->set("last_epoch", Node(*step));
    Node* subs = sched->find("_schedulers");
    const Node* milestones = sched->find("_milestones");
    if (!subs || !milestones || !subs->is_sequence() || !milestones->is_sequence())
        return;
    // Sub-scheduler i started at milestone i-1 (the first at 0).
    std::vector<int64_t> starts{0};
    for (const auto& m : milestones->items())
        if (auto v = integer(&m))
            starts.push_back(*v);
    for (size_t i = 0; i < subs->items().size() && i < starts.size(); ++i)
        if (subs->items()[i].is_map())
            subs->items()[i].set("last_epoch", Node(std::max<int64_t>(*step - starts[i], 0)));
}

void move_sparsity_state(Node& root, std::vector<NamedTensor>& model, const std::string& file)
{
    Node* optimizer = root.find("optimizer");
    Node* sparsity = optimizer && optimizer->is_map() ? optimizer->find("sparsity") : nullptr;
    const Node* state = sparsity && sparsity->is_map() ? sparsity->find("state") : nullptr;
    if (!state)
        return;
    const Node sp = *sparsity;
    if (state->is_map()) {
        for (const auto& [weight, st] : state->entries()) {
            const std::string name = Node::key_text(weight);
            const Node* mask = st.is_map() ? st.find("mask") : nullptr;
            const bool in_model = std::any_of(model.begin(), model.end(),
                                              [&](const NamedTensor& t) { return t.name == name; });
            if (!mask || !in_model)
                continue;
            if (!mask->is_tensor())
                throw_input("{}: optimizer.sparsity.state[{}].mask is a {}, expected a tensor", file, name,
                            Node::kind_name(mask->kind()));
            model.push_back(NamedTensor{name + "_mask", mask->as_tensor()});
        }
    }
    optimizer->erase("sparsity");

    Node section = Node::map();
    if (const Node* step = sp.find("step"))
        section.set("step", *step);
    Node schedule = Node::map();
    std::vector<std::string> scheduled;
    if (const Node* groups = sp.find("param_groups"); groups && groups->is_sequence())
        for (const auto& g : groups->items()) {
            const Node* s = g.is_map() ? g.find("sparsity") : nullptr;
            const Node* names = g.is_map() ? g.find("param_names") : nullptr;
            if (!s || !s->is_map() || !s->find("step") || !names || !names->is_sequence())
                continue;
            for (const auto& n : names->items()) {
                Node index = Node::map();
                index.set("index", *s->find("step"));
                schedule.set(Node::key_text(n), std::move(index));
                scheduled.push_back(Node::key_text(n));
            }
        }
    log::debug("Sparsity schedules carried for: [{}]", fmt::join(scheduled, ", "));
    if (schedule.size() != 0)
        section.set("sparsity", std::move(schedule));
    root.set("sparsity", std::move(section));
}

/// Reads through another tensor, zeroing NaNs of its floating-point elements.
class NanZeroed final : public TensorData {
public:
    explicit NanZeroed(TensorPtr src) : m_src(std::move(src)) {}
    const TensorInfo& info() const override { return m_src->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        const uint64_t es = dtype_size(info().dtype);
        const uint64_t begin = offset / es * es;
        const uint64_t end = (offset + size + es - 1) / es * es;
        std::vector<std::byte> buf(end - begin);
        m_src->read(begin, buf.data(), buf.size());
        for (uint64_t at = 0; at < buf.size(); at += es)
            if (is_nan(buf.data() + at))
                std::memset(buf.data() + at, 0, es);
        std::memcpy(dst, buf.data() + (offset - begin), size);
    }

private:
    bool is_nan(const std::byte* p) const
    {
        switch (info().dtype) {
        case DType::f16: {
            uint16_t v;
            std::memcpy(&v, p, 2);
            return (v & 0x7fffu) > 0x7c00u;
        }
        case DType::bf16: {
            uint16_t v;
            std::memcpy(&v, p, 2);
            return (v & 0x7fffu) > 0x7f80u;
        }
        case DType::f32: {
            uint32_t v;
            std::memcpy(&v, p, 4);
            return (v & 0x7fffffffu) > 0x7f800000u;
        }
        case DType::f64: {
            uint64_t v;
            std::memcpy(&v, p, 8);
            return (v & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
        }
        default: return false;
        }
    }

    TensorPtr m_src;
};

} // namespace

void finish_cs_checkpoint(Node& root, std::vector<NamedTensor>& model, bool crosses_cs16, const std::string& file)
{
    if (crosses_cs16) {
        std::vector<std::string> dropped;
        for (const auto& [k, v] : root.entries()) {
            const std::string key = Node::key_text(k);
            if (key != "model" && key != "__metadata__")
                dropped.push_back(key);
        }
        if (!dropped.empty())
            log::warning("cs-1.6 checkpoints are converted without their non-model state; dropped: {}",
                         fmt::join(dropped, ", "));
        for (const auto& key : dropped)
            root.erase(key);
        return;
    }
    fix_scheduler_epoch(root);
    move_sparsity_state(root, model, file);
}

bool has_sideband_sparsity(const Node& cs_config)
{
    const Node* s = cs_config.is_map() ? cs_config.find("sparsity") : nullptr;
    const Node* type = s && s->is_map() ? s->find("type") : nullptr;
    return type && type->kind() == Node::Kind::string && type->as_string() == "sideband";
}

std::vector<NamedTensor> with_nans_zeroed(const std::vector<NamedTensor>& tensors)
{
    std::vector<NamedTensor> out;
    out.reserve(tensors.size());
    std::map<const TensorData*, TensorPtr> wrapped; // tied names keep sharing one tensor
    for (const auto& t : tensors) {
        const DType d = t.tensor->info().dtype;
        const bool floating = d == DType::f16 || d == DType::bf16 || d == DType::f32 || d == DType::f64;
        if (!floating) {
            out.push_back(t);
            continue;
        }
        TensorPtr& w = wrapped[t.tensor.get()];
        if (!w)
            w = std::make_shared<NanZeroed>(t.tensor);
        out.push_back(NamedTensor{t.name, w});
    }
    return out;
}

} // namespace ckpt::convert
