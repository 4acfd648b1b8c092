// SPDX-License-Identifier: Apache-2.0
// The non-model part of CS checkpoint steps (Model Zoo BaseCheckpointConverter_CS_CS and the
// sideband-sparsity finalisation of BaseCheckpointConverter_HF_CS), on the host's value tree.
#include "convert/cs_checkpoint_steps.hpp"

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mapped_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
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

/// A floating-point format's bits without the sign, and its infinity: a NaN is anything above.
struct NanBits {
    uint64_t magnitude;
    uint64_t infinity;
};

std::optional<NanBits> nan_bits(DType d)
{
    switch (d) {
    case DType::f16: return NanBits{0x7fffu, 0x7c00u};
    case DType::bf16: return NanBits{0x7fffu, 0x7f80u};
    case DType::f32: return NanBits{0x7fffffffu, 0x7f800000u};
    case DType::f64: return NanBits{0x7fffffffffffffffull, 0x7ff0000000000000ull};
    default: return std::nullopt;
    }
}

/// Reads through a floating-point tensor, zeroing its NaN elements.
class NanZeroed final : public TensorData {
public:
    NanZeroed(TensorPtr src, NanBits bits) : m_src(std::move(src)), m_bits(bits) {}
    const TensorInfo& info() const override { return m_src->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        const uint64_t es = dtype_size(info().dtype);
        const uint64_t begin = offset / es * es;
        const uint64_t end = (offset + size + es - 1) / es * es;
        std::vector<std::byte> buf(end - begin);
        m_src->read(begin, buf.data(), buf.size());
        for (uint64_t at = 0; at < buf.size(); at += es) {
            uint64_t v = 0;
            std::memcpy(&v, buf.data() + at, es); // little-endian element into the low bytes
            if ((v & m_bits.magnitude) > m_bits.infinity)
                std::memset(buf.data() + at, 0, es);
        }
        std::memcpy(dst, buf.data() + (offset - begin), size);
    }

private:
    TensorPtr m_src;
    NanBits m_bits;
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

namespace {

/// Python int() of a text line: optional sign, digits (underscores between them), surrounding
/// whitespace.
std::optional<int64_t> parse_int_line(std::string line)
{
    const auto first = line.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return std::nullopt;
    line = line.substr(first, line.find_last_not_of(" \t\r\n") - first + 1);
    std::string digits;
    size_t i = 0;
    bool neg = false;
    if (line[0] == '+' || line[0] == '-') {
        neg = line[0] == '-';
        i = 1;
    }
    for (; i < line.size(); ++i) {
        if (line[i] == '_' && !digits.empty() && i + 1 < line.size() && std::isdigit((unsigned char)line[i + 1]))
            continue;
        if (!std::isdigit((unsigned char)line[i]) || digits.size() > 18)
            return std::nullopt;
        digits += line[i];
    }
    if (digits.empty())
        return std::nullopt;
    const int64_t v = std::stoll(digits);
    return neg ? -v : v;
}

int64_t read_int_line(const std::filesystem::path& file, const char* what)
{
    std::string line;
    try {
        line = read_head(file, 256); // the number is on the first line; open_input_file refuses FIFOs
    } catch (const InputError& e) {
        throw_input("cannot read the {}: {}", what, e.what());
    }
    line = line.substr(0, line.find('\n'));
    auto v = parse_int_line(line);
    if (!v)
        throw_input("{}: expected the {} as an integer on the first line, found '{}'", file.string(), what, line);
    return *v;
}

} // namespace

void inject_r19_dataloader_state(Node& root, const Node& config, const std::string& config_file)
{
    const Node* cerebras = config.is_map() ? config.find("cerebras") : nullptr;
    const Node* dir_node = cerebras && cerebras->is_map() ? cerebras->find("save_iter_state_path") : nullptr;
    if (!dir_node || dir_node->kind() != Node::Kind::string || dir_node->as_string().empty())
        return;
    if (root.find("dataloader")) {
        log::warning("DataLoader state already exists in the checkpoint. R1.9 DataLoader state specified under "
                     "config `cerebras.save_iter_state_path` will not be injected into the checkpoint.");
        return;
    }
    const Node* train = config.find("train_input");
    const Node* proc = train && train->is_map() ? train->find("data_processor") : nullptr;
    const std::string processor = proc && proc->kind() == Node::Kind::string ? proc->as_string() : "";
    bool iterable = false;
    if (processor == "GptHDF5DataProcessor")
        iterable = true;
    else if (processor != "GptHDF5MapDataProcessor")
        throw_input("{}: DataLoader state conversion requires `train_input.data_processor` to be specified as either "
                    "'GptHDF5DataProcessor' or 'GptHDF5MapDataProcessor', but instead got: '{}'.",
                    config_file, processor);

    namespace fs = std::filesystem;
    const fs::path dir = dir_node->as_string();
    const fs::path global = dir / "data_iter_checkpoint_state_file_global";
    std::error_code ec;
    if (!fs::is_regular_file(global, ec))
        throw_input("File `{}` does not exist. Please ensure that the specified dir `{}` (cerebras.save_iter_state_path "
                    "in {}, relative to the current directory) has file `data_iter_checkpoint_state_file_global` that "
                    "records the data step for the R1.9 Dataloader state being converted.",
                    global.string(), dir.string(), config_file);
    const int64_t data_step = read_int_line(global, "data step");

    int64_t total = 0;
    std::vector<std::pair<int64_t, int64_t>> workers; // (shard index, samples streamed)
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() < 4 || name.compare(name.size() - 4, 4, ".txt") != 0)
            continue;
        // data_iter_state_file_worker_<id>_step_<step>.txt
        std::vector<std::string> parts;
        for (size_t at = 0;;) {
            const size_t us = name.find('_', at);
            parts.push_back(name.substr(at, us - at));
            if (us == std::string::npos)
                break;
            at = us + 1;
        }
        std::optional<int64_t> id, step;
        if (parts.size() >= 3) {
            id = parse_int_line(parts[parts.size() - 3]);
            step = parse_int_line(parts.back().substr(0, parts.back().find('.')));
        }
        if (!id.has_value() || !step.has_value())
            throw_input("{}: not a worker state file (expected data_iter_state_file_worker_<id>_step_<step>.txt)",
                        entry.path().string());
        if (step.value() != data_step)
            continue;
        const int64_t samples = read_int_line(entry.path(), "samples streamed");
        workers.emplace_back(id.value(), samples);
        total += samples;
    }
    if (ec)
        throw_input("{}: cannot list the dataloader state directory: {}", dir.string(), ec.message());

    Node state = Node::map();
    if (iterable) {
        std::stable_sort(workers.begin(), workers.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        Node list = Node::list();
        for (const auto& [id, samples] : workers) {
            Node w = Node::map();
            w.set("samples_streamed", Node(samples));
            w.set("shard_index", Node(id));
            list.push_back(std::move(w));
        }
        state.set("all_worker_states", std::move(list));
    } else {
        state.set("samples_streamed", Node(total));
        state.set("seed", Node(int64_t{0}));
    }
    root.set("dataloader", std::move(state));
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
        const auto bits = nan_bits(t.tensor->info().dtype);
        if (!bits) {
            out.push_back(t);
            continue;
        }
        TensorPtr& w = wrapped[t.tensor.get()];
        if (!w)
            w = std::make_shared<NanZeroed>(t.tensor, *bits);
        out.push_back(NamedTensor{t.name, w});
    }
    return out;
}

} // namespace ckpt::convert
