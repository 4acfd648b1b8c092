// SPDX-License-Identifier: Apache-2.0
// `--dtype`: every floating-point tensor written in one float dtype, cast lazily as it streams.
#include "convert/dtype_cast.hpp"

#include "core/element_convert.hpp"
#include "core/log.hpp"
#include "core/tree_paths.hpp"
#include "engine/ops.hpp"

#include <cmath>
#include <cstring>

namespace ckpt::convert {

namespace {

/// True for the bit patterns of +-infinity in an F16, BF16 or F32 element.
bool is_infinity(DType d, const std::byte* p)
{
    if (d == DType::f32) {
        uint32_t x;
        std::memcpy(&x, p, 4);
        return (x & 0x7fffffffu) == 0x7f800000u;
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return (h & 0x7fffu) == (d == DType::f16 ? 0x7c00u : 0x7f80u);
}

/// A cast that counts the values it turned into infinity: the output's infinities whose source
/// element was finite (float16 above 65504; bfloat16 and float32 only at the very top of their
/// range). Scanning the output costs one pass over bytes just written (still in cache); the
/// source is only looked at again where an infinity shows up.
class OverflowCountingCast final : public TensorData {
public:
    OverflowCountingCast(TensorPtr cast, TensorPtr source, std::string name, std::shared_ptr<CastOverflows> log)
        : m_cast(std::move(cast)), m_source(std::move(source)), m_name(std::move(name)), m_log(std::move(log))
    {
    }
    const TensorInfo& info() const override { return m_cast->info(); }
    bool concurrent_reads() const override { return m_cast->concurrent_reads(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        m_cast->read(offset, dst, size);
        const DType to = info().dtype, from = m_source->info().dtype;
        const uint64_t es = dtype_size(to);
        // Each element is checked by the read that holds its first byte, so reads that split
        // elements still count every one exactly once.
        const uint64_t first = (offset + es - 1) / es, end = (offset + size + es - 1) / es;
        uint64_t overflowed = 0;
        for (uint64_t e = first; e < end; ++e) {
            const uint64_t at = e * es - offset;
            std::byte whole[8];
            const std::byte* element = dst + at;
            if (at + es > size) { // the element's tail lies beyond this read
                m_cast->read(e * es, whole, es);
                element = whole;
            }
            if (!is_infinity(to, element))
                continue;
            std::byte src[8];
            m_source->read(e * dtype_size(from), src, dtype_size(from));
            if (std::isfinite(load_double(from, src)))
                ++overflowed;
        }
        if (overflowed)
            m_log->add(m_name, overflowed);
    }

private:
    TensorPtr m_cast;
    TensorPtr m_source;
    std::string m_name;
    std::shared_ptr<CastOverflows> m_log;
};

} // namespace

std::optional<DType> parse_float_dtype(std::string_view name)
{
    if (name == "float32")
        return DType::f32;
    if (name == "bfloat16")
        return DType::bf16;
    if (name == "float16")
        return DType::f16;
    return std::nullopt;
}

std::optional<std::string> torch_dtype_name(DType d)
{
    switch (d) {
    case DType::f32: return "float32";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
    case DType::f64: return "float64";
    default: return std::nullopt;
    }
}

void CastOverflows::add(const std::string& tensor, uint64_t count)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_counts[tensor] += count;
}

std::map<std::string, uint64_t> CastOverflows::counts() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_counts;
}

TensorPtr cast_float(const TensorPtr& tensor, const std::string& name, DType to,
                     const std::shared_ptr<CastOverflows>& overflows)
{
    const DType from = tensor->info().dtype;
    if (from == to || !is_float_dtype(from))
        return tensor;
    engine::OpSpec spec;
    spec.kind = engine::OpKind::cast;
    spec.inputs = {tensor};
    spec.dtype = to;
    TensorPtr cast = engine::make_op(std::move(spec), name);
    // Only float16's small range and narrowing reach infinity (float16 -> bfloat16 cannot).
    if (to != DType::f16 && dtype_size(to) >= dtype_size(from))
        return cast;
    return std::make_shared<OverflowCountingCast>(std::move(cast), tensor, name, overflows);
}

std::vector<NamedTensor> cast_floats(const std::vector<NamedTensor>& tensors, DType to,
                                     const std::shared_ptr<CastOverflows>& overflows)
{
    std::vector<NamedTensor> out;
    out.reserve(tensors.size());
    std::map<const TensorData*, TensorPtr> cast; // tied names keep sharing one tensor
    for (const auto& t : tensors) {
        TensorPtr& c = cast[t.tensor.get()];
        if (!c)
            c = cast_float(t.tensor, t.name, to, overflows);
        out.push_back(NamedTensor{t.name, c});
    }
    return out;
}

namespace {

Node cast_node(const Node& n, DType to, const std::map<const TensorData*, std::string>& names,
               std::map<const TensorData*, TensorPtr>& cast, const std::shared_ptr<CastOverflows>& overflows)
{
    if (n.is_tensor()) {
        TensorPtr& c = cast[n.as_tensor().get()];
        if (!c) {
            const auto name = names.find(n.as_tensor().get());
            c = cast_float(n.as_tensor(), name != names.end() ? name->second : "(unnamed tensor)", to, overflows);
        }
        return Node(c);
    }
    Node out = n;
    if (n.is_map())
        for (auto& [key, value] : out.entries())
            value = cast_node(value, to, names, cast, overflows);
    else if (n.is_sequence())
        for (auto& item : out.items())
            item = cast_node(item, to, names, cast, overflows);
    return out;
}

} // namespace

Node cast_floats(const Node& root, DType to, const std::shared_ptr<CastOverflows>& overflows)
{
    std::map<const TensorData*, std::string> names; // a tied tensor goes by its first name
    for_each_leaf(root, [&](const std::string& name, const Node& leaf) {
        if (leaf.is_tensor())
            names.emplace(leaf.as_tensor().get(), name);
    });
    std::map<const TensorData*, TensorPtr> cast;
    return cast_node(root, to, names, cast, overflows);
}

void warn_overflows(const CastOverflows& overflows)
{
    for (const auto& [name, count] : overflows.counts())
        log::warning("{}: {} finite value{} beyond the range of the target dtype {} written as infinity", name,
                     count, count == 1 ? "" : "s", count == 1 ? "was" : "were");
}

} // namespace ckpt::convert
