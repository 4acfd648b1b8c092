// SPDX-License-Identifier: Apache-2.0
// The plan operations: validation, shape inference and lazy, bounded-memory evaluation.
#include "engine/ops.hpp"

#include "core/element_convert.hpp"
#include "plugins/abi_struct.hpp"
#include "plugins/plugin_call.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ckpt::engine {

std::string op_kind_name(OpKind kind)
{
    switch (kind) {
    case OpKind::copy: return "copy";
    case OpKind::transpose: return "transpose";
    case OpKind::split: return "split";
    case OpKind::concat: return "concat";
    case OpKind::row_permute: return "row_permute";
    case OpKind::scale: return "scale";
    case OpKind::add: return "add";
    case OpKind::cast: return "cast";
    case OpKind::reshape: return "reshape";
    case OpKind::generate: return "generate";
    case OpKind::kernel: return "kernel";
    }
    return fmt::format("op{}", static_cast<int32_t>(kind));
}

bool is_known_op_kind(int32_t kind) { return kind >= CKPT_OP_COPY && kind <= CKPT_OP_KERNEL; }

std::string format_ints(const std::vector<int64_t>& ints, size_t max_shown)
{
    if (ints.size() <= max_shown)
        return fmt::format("[{}]", fmt::join(ints, ", "));
    const size_t head = max_shown > 1 ? max_shown - 1 : 1;
    return fmt::format("[{}, ..., {}] ({} entries)",
                       fmt::join(ints.begin(), ints.begin() + static_cast<std::ptrdiff_t>(head), ", "),
                       ints.back(), ints.size());
}

Kernel::~Kernel()
{
    if (m_kernel.release)
        m_kernel.release(m_kernel.ctx);
}

// --- base ---------------------------------------------------------------------------------------

OpTensor::OpTensor(OpKind kind, std::vector<TensorPtr> inputs, TensorInfo info, std::string label)
    : m_kind(kind), m_inputs(std::move(inputs)), m_info(std::move(info)), m_label(std::move(label))
{
}

void OpTensor::note_scratch(uint64_t bytes) const
{
    uint64_t cur = m_peak_scratch.load();
    while (bytes > cur && !m_peak_scratch.compare_exchange_weak(cur, bytes)) {
    }
}

namespace {
// Buffers kept per thread for ScratchLease, one per nesting level of reads in progress.
struct ScratchStack {
    std::vector<std::pair<std::unique_ptr<std::byte[]>, size_t>> buffers;
    size_t depth = 0;
};
thread_local ScratchStack t_scratch;
} // namespace

ScratchLease::ScratchLease(size_t bytes)
{
    ScratchStack& s = t_scratch;
    if (s.buffers.size() <= s.depth)
        s.buffers.emplace_back(nullptr, 0);
    auto& [buffer, size] = s.buffers[s.depth];
    if (size < bytes) {
        buffer.reset(); // free first: never hold both
        size = 0;
        buffer.reset(new std::byte[bytes]); // not zeroed: callers fill what they use
        size = bytes;
    }
    m_data = buffer.get();
    ++s.depth;
}

ScratchLease::~ScratchLease()
{
    --t_scratch.depth;
}

void OpTensor::read(uint64_t offset, std::byte* dst, uint64_t size) const
{
    const uint64_t n = m_info.nbytes();
    if (offset > n || size > n - offset)
        throw_input("read of {} bytes at offset {} is outside {} ({}, {} bytes)", size, offset, m_label,
                    describe(m_info), n);
    if (size)
        do_read(offset, dst, size);
}

bool OpTensor::map_box(uint64_t, uint64_t, BoxSource&) const
{
    return false;
}

bool OpTensor::view_box(uint64_t row, uint64_t col, BoxView& out) const
{
    BoxSource s;
    if (!map_box(row, col, s))
        return TensorData::view_box(row, col, out);
    if (!m_inputs[s.input]->view_box(s.row, s.col, out))
        return false;
    out.rows = std::min(out.rows, s.rows);
    out.cols = std::min(out.cols, s.cols);
    return true;
}

void OpTensor::read_box(uint64_t row, uint64_t col, uint64_t rows, uint64_t cols, std::byte* dst,
                        uint64_t dst_stride) const
{
    check_box(m_info, row, col, rows, cols);
    BoxSource s;
    if (rows == 0 || cols == 0)
        return;
    if (!map_box(row, col, s))
        return TensorData::read_box(row, col, rows, cols, dst, dst_stride);
    const uint64_t es = dtype_size(m_info.dtype);
    walk_box(rows, cols, [&](uint64_t r, uint64_t c, uint64_t h, uint64_t w) -> std::pair<uint64_t, uint64_t> {
        map_box(row + r, col + c, s);
        h = std::min(h, s.rows);
        w = std::min(w, s.cols);
        m_inputs[s.input]->read_box(s.row, s.col, h, w, dst + (r * dst_stride + c) * es, dst_stride);
        return {h, w};
    });
}

void OpTensor::read_by_elements(uint64_t offset, std::byte* dst, uint64_t size) const
{
    const uint64_t es = dtype_size(m_info.dtype);
    std::byte tmp[16];
    uint64_t first = offset / es;
    if (const uint64_t head = offset % es) {
        read_elements(first, 1, tmp);
        const uint64_t len = std::min(es - head, size);
        std::memcpy(dst, tmp + head, len);
        dst += len;
        size -= len;
        ++first;
    }
    const uint64_t whole = size / es;
    if (whole)
        read_elements(first, whole, dst);
    if (const uint64_t tail = size % es) {
        read_elements(first + whole, 1, tmp);
        std::memcpy(dst + whole * es, tmp, tail);
    }
}

void OpTensor::read_elements(uint64_t, uint64_t, std::byte*) const
{
    throw PlanError(CKPT_ERR_INTERNAL, fmt::format("{}: {} has no element reader", m_label, name()));
}

namespace {

[[noreturn]] void fail(const std::string& label, OpKind kind, const std::string& what)
{
    throw PlanError(CKPT_ERR_INVALID_ARGUMENT, fmt::format("{}: {} {}", label, op_kind_name(kind), what));
}

[[noreturn]] void unsupported(const std::string& label, OpKind kind, const std::string& what)
{
    throw PlanError(CKPT_ERR_UNSUPPORTED, fmt::format("{}: {} {}", label, op_kind_name(kind), what));
}

// Checks that shape and dtype give a byte size that fits in 64 bits.
void check_info(const TensorInfo& info, const std::string& label, OpKind kind)
{
    if (dtype_size(info.dtype) == 0)
        fail(label, kind, fmt::format("needs a valid dtype, found {}", static_cast<int32_t>(info.dtype)));
    if (info.shape.size() > CKPT_MAX_RANK)
        fail(label, kind, fmt::format("supports rank up to {}, found rank {}", CKPT_MAX_RANK, info.shape.size()));
    for (int64_t d : info.shape)
        if (d < 0)
            fail(label, kind, fmt::format("needs non-negative dimensions, found shape {}", format_ints(info.shape)));
    uint64_t numel = 1;
    for (int64_t d : info.shape) {
        const auto u = static_cast<uint64_t>(d);
        if (u != 0 && numel > UINT64_MAX / u)
            fail(label, kind, fmt::format("shape {} has more than 2^64 elements", format_ints(info.shape)));
        numel *= u;
    }
    if (numel > UINT64_MAX / dtype_size(info.dtype))
        fail(label, kind, fmt::format("shape {} of {} exceeds 2^64 bytes", format_ints(info.shape),
                                      dtype_name(info.dtype)));
}

int64_t normalize_axis(int64_t axis, size_t rank, const std::string& label, OpKind kind,
                       const TensorInfo& in)
{
    const auto r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r)
        fail(label, kind, fmt::format("axis {} is out of range for {} (rank {})", axis, describe(in), rank));
    return axis < 0 ? axis + r : axis;
}

uint64_t product(const std::vector<int64_t>& shape, size_t from, size_t to)
{
    uint64_t p = 1;
    for (size_t i = from; i < to; ++i)
        p *= static_cast<uint64_t>(shape[i]);
    return p;
}

#if defined(__SSE2__)
// 4 x 4 blocks of 4-byte elements, 8 x 8 of 2-byte ones, transposed in SSE2 registers: the
// shuffles move bits and nothing else (NaN payloads and signalling bits stay as they are).
inline void transpose_4x4_b32(const std::byte* src, uint64_t ss, std::byte* dst, uint64_t ds)
{
    auto load = [&](uint64_t r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + r * ss * 4)); };
    const __m128i a = load(0), b = load(1), c = load(2), d = load(3);
    const __m128i ab_lo = _mm_unpacklo_epi32(a, b), cd_lo = _mm_unpacklo_epi32(c, d);
    const __m128i ab_hi = _mm_unpackhi_epi32(a, b), cd_hi = _mm_unpackhi_epi32(c, d);
    auto store = [&](uint64_t r, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + r * ds * 4), v); };
    store(0, _mm_unpacklo_epi64(ab_lo, cd_lo));
    store(1, _mm_unpackhi_epi64(ab_lo, cd_lo));
    store(2, _mm_unpacklo_epi64(ab_hi, cd_hi));
    store(3, _mm_unpackhi_epi64(ab_hi, cd_hi));
}

inline void transpose_8x8_b16(const std::byte* src, uint64_t ss, std::byte* dst, uint64_t ds)
{
    __m128i r[8], t[8], u[8];
    for (uint64_t k = 0; k < 8; ++k)
        r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k * ss * 2));
    for (int k = 0; k < 4; ++k) {
        t[2 * k] = _mm_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 2; ++k) {
        const int p = 4 * k; // rows 0-3, then 4-7
        u[p] = _mm_unpacklo_epi32(t[p], t[p + 2]);
        u[p + 1] = _mm_unpackhi_epi32(t[p], t[p + 2]);
        u[p + 2] = _mm_unpacklo_epi32(t[p + 1], t[p + 3]);
        u[p + 3] = _mm_unpackhi_epi32(t[p + 1], t[p + 3]);
    }
    for (int k = 0; k < 4; ++k) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * k) * ds * 2), _mm_unpacklo_epi64(u[k], u[k + 4]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * k + 1) * ds * 2), _mm_unpackhi_epi64(u[k], u[k + 4]));
    }
}
#endif

// Transposes one T x T tile: src rows are `src_stride` elements apart, dst rows `dst_stride`.
// Goes through blocks held in registers (SSE2) or a local array, so both sides are read and
// written in runs.
template <size_t ES, uint64_t T>
void full_tile(const std::byte* src, uint64_t src_stride, std::byte* dst, uint64_t dst_stride)
{
#if defined(__SSE2__)
    // Square B x B blocks, each transposed by `kernel` in registers.
    auto blocks = [&](uint64_t B, auto kernel) {
        for (uint64_t i0 = 0; i0 < T; i0 += B)
            for (uint64_t j0 = 0; j0 < T; j0 += B)
                kernel(src + (i0 * src_stride + j0) * ES, src_stride, dst + (j0 * dst_stride + i0) * ES, dst_stride);
    };
    if constexpr (ES == 4 && T % 4 == 0)
        return blocks(4, transpose_4x4_b32);
    if constexpr (ES == 2 && T % 8 == 0)
        return blocks(8, transpose_8x8_b16);
#endif
    constexpr uint64_t B = 8;
    static_assert(T % B == 0, "tile must be a multiple of the block");
    std::byte block[B][B * ES];
    for (uint64_t i0 = 0; i0 < T; i0 += B)
        for (uint64_t j0 = 0; j0 < T; j0 += B) {
            for (uint64_t a = 0; a < B; ++a)
                std::memcpy(block[a], src + ((i0 + a) * src_stride + j0) * ES, B * ES);
            for (uint64_t b = 0; b < B; ++b) {
                std::byte* o = dst + ((j0 + b) * dst_stride + i0) * ES;
                for (uint64_t a = 0; a < B; ++a)
                    std::memcpy(o + a * ES, block[a] + b * ES, ES);
            }
        }
}

// Copies one element of a compile-time size (lets the compiler emit a plain load/store).
template <size_t ES>
inline void copy_elem(std::byte* dst, const std::byte* src)
{
    std::memcpy(dst, src, ES);
}

// Transposes an h x w tile smaller than a full one (h, w <= T): register blocks where they fit,
// element by element along the ragged edges.
template <size_t ES>
void part_tile(const std::byte* src, uint64_t ss, std::byte* dst, uint64_t ds, uint64_t h, uint64_t w)
{
    uint64_t bh = 0, bw = 0; // the part done in blocks
#if defined(__SSE2__)
    auto blocks = [&](uint64_t B, auto kernel) {
        bh = h / B * B;
        bw = w / B * B;
        for (uint64_t i0 = 0; i0 < bh; i0 += B)
            for (uint64_t j0 = 0; j0 < bw; j0 += B)
                kernel(src + (i0 * ss + j0) * ES, ss, dst + (j0 * ds + i0) * ES, ds);
    };
    if constexpr (ES == 4)
        blocks(4, transpose_4x4_b32);
    if constexpr (ES == 2)
        blocks(8, transpose_8x8_b16);
#endif
    for (uint64_t i = 0; i < h; ++i)
        for (uint64_t j = i < bh ? bw : 0; j < w; ++j)
            copy_elem<ES>(dst + (j * ds + i) * ES, src + (i * ss + j) * ES);
}

// Transposes an h x w block (source rows `ss` elements apart) into w rows of h (`ds` apart), in
// tiles that keep both sides in cache.
template <size_t ES>
void transpose_block(const std::byte* src, uint64_t ss, std::byte* dst, uint64_t ds, uint64_t h, uint64_t w)
{
    constexpr uint64_t T = 32;
    for (uint64_t i = 0; i < h; i += T)
        for (uint64_t j = 0; j < w; j += T) {
            const std::byte* s = src + (i * ss + j) * ES;
            std::byte* d = dst + (j * ds + i) * ES;
            if (h - i >= T && w - j >= T)
                full_tile<ES, T>(s, ss, d, ds);
            else
                part_tile<ES>(s, ss, d, ds, std::min(T, h - i), std::min(T, w - j));
        }
}

template <class Fn>
void with_elem_size(uint64_t es, Fn&& fn)
{
    switch (es) {
    case 1: fn(std::integral_constant<size_t, 1>{}); break;
    case 2: fn(std::integral_constant<size_t, 2>{}); break;
    case 4: fn(std::integral_constant<size_t, 4>{}); break;
    case 8: fn(std::integral_constant<size_t, 8>{}); break;
    default: fn(std::integral_constant<size_t, 16>{}); break;
    }
}

// --- COPY, RESHAPE ----------------------------------------------------------------------------

// Ops that keep no state while reading can be read on several threads when their inputs can.
bool inputs_concurrent(const std::vector<TensorPtr>& inputs)
{
    return std::all_of(inputs.begin(), inputs.end(), [](const TensorPtr& t) { return t->concurrent_reads(); });
}

class ForwardOp final : public OpTensor {
public:
    using OpTensor::OpTensor;
    const std::byte* data() const override { return inputs()[0]->data(); }
    bool concurrent_reads() const override { return inputs_concurrent(inputs()); }
    std::string args() const override
    {
        if (kind() == OpKind::reshape)
            return format_ints(info().shape);
        if (kind() == OpKind::cast)
            return std::string(dtype_name(info().dtype));
        return {};
    }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        inputs()[0]->read(offset, dst, size);
    }
    bool map_box(uint64_t row, uint64_t col, BoxSource& out) const override
    {
        const TensorInfo& in = inputs()[0]->info();
        const MatrixShape m = matrix_shape(info());
        if (in.dtype != info().dtype || matrix_shape(in).cols != m.cols)
            return false; // rows of another length: computed from bytes
        out = {0, row, col, m.rows - row, m.cols - col};
        return true;
    }
};

// --- SPLIT --------------------------------------------------------------------------------------

class SplitOp final : public OpTensor {
public:
    SplitOp(TensorPtr in, TensorInfo out, std::string label, int64_t axis, int64_t index, int64_t count)
        : OpTensor(OpKind::split, {std::move(in)}, std::move(out), std::move(label)),
          m_axis(axis), m_index(index), m_count(count)
    {
        const TensorInfo& src = inputs()[0]->info();
        const auto ax = static_cast<size_t>(axis);
        const uint64_t es = dtype_size(src.dtype);
        m_outer = product(src.shape, 0, ax);
        const uint64_t inner = product(src.shape, ax + 1, src.shape.size());
        m_stride = static_cast<uint64_t>(src.shape[ax]) * inner * es;
        m_block = static_cast<uint64_t>(src.shape[ax] / count) * inner * es;
        m_base = static_cast<uint64_t>(index) * m_block;
    }
    const std::byte* data() const override
    {
        const std::byte* p = m_outer == 1 ? inputs()[0]->data() : nullptr;
        return p ? p + m_base : nullptr;
    }
    std::string args() const override { return fmt::format("axis={}, {} of {}", m_axis, m_index, m_count); }
    bool concurrent_reads() const override { return inputs_concurrent(inputs()); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        while (size) {
            const uint64_t o = offset / m_block;
            const uint64_t within = offset % m_block;
            const uint64_t len = std::min(size, m_block - within);
            inputs()[0]->read(o * m_stride + m_base + within, dst, len);
            offset += len;
            dst += len;
            size -= len;
        }
    }
    bool map_box(uint64_t row, uint64_t col, BoxSource& out) const override
    {
        const MatrixShape m = matrix_shape(info());
        if (static_cast<size_t>(m_axis) + 1 >= info().shape.size()) { // a column range of the input
            out = {0, row, static_cast<uint64_t>(m_index) * m.cols + col, m.rows - row, m.cols - col};
            return true;
        }
        // Row ranges: `part` rows of every `slab` rows of the input, from row `base` of each.
        const uint64_t row_bytes = m.cols * dtype_size(info().dtype);
        const uint64_t part = m_block / row_bytes, slab = m_stride / row_bytes, within = row % part;
        out = {0, row / part * slab + m_base / row_bytes + within, col, part - within, m.cols - col};
        return true;
    }

private:
    int64_t m_axis, m_index, m_count;
    uint64_t m_outer = 1, m_stride = 0, m_block = 0, m_base = 0;
};

// --- CONCAT -------------------------------------------------------------------------------------

class ConcatOp final : public OpTensor {
public:
    ConcatOp(std::vector<TensorPtr> ins, TensorInfo out, std::string label, int64_t axis)
        : OpTensor(OpKind::concat, std::move(ins), std::move(out), std::move(label)), m_axis(axis)
    {
        const TensorInfo& o = info();
        const auto ax = static_cast<size_t>(axis);
        const uint64_t inner = product(o.shape, ax + 1, o.shape.size()) * dtype_size(o.dtype);
        for (const auto& in : inputs()) {
            m_starts.push_back(m_out_block);
            m_blocks.push_back(static_cast<uint64_t>(in->info().shape[ax]) * inner);
            m_out_block += m_blocks.back();
        }
    }
    const std::byte* data() const override { return inputs().size() == 1 ? inputs()[0]->data() : nullptr; }
    std::string args() const override { return fmt::format("axis={}", m_axis); }
    bool concurrent_reads() const override { return inputs_concurrent(inputs()); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        while (size) {
            const uint64_t o = offset / m_out_block;
            const uint64_t within = offset % m_out_block;
            const size_t k = part_at(within);
            const uint64_t in_within = within - m_starts[k];
            const uint64_t len = std::min(size, m_blocks[k] - in_within);
            inputs()[k]->read(o * m_blocks[k] + in_within, dst, len);
            offset += len;
            dst += len;
            size -= len;
        }
    }
    bool map_box(uint64_t row, uint64_t col, BoxSource& out) const override
    {
        const MatrixShape m = matrix_shape(info());
        const uint64_t es = dtype_size(info().dtype);
        if (static_cast<size_t>(m_axis) + 1 >= info().shape.size()) { // inputs side by side
            const size_t k = part_at(col * es);
            const uint64_t c = col - m_starts[k] / es;
            out = {k, row, c, m.rows - row, m_blocks[k] / es - c};
            return true;
        }
        // Inputs one below the other, in slabs of `slab` rows.
        const uint64_t row_bytes = m.cols * es;
        const uint64_t slab = m_out_block / row_bytes, within = row % slab;
        const size_t k = part_at(within * row_bytes);
        const uint64_t at = within - m_starts[k] / row_bytes, part = m_blocks[k] / row_bytes;
        out = {k, row / slab * part + at, col, part - at, m.cols - col};
        return true;
    }

private:
    // The last input whose block starts at or before byte `within` of a slab (skips empty ones).
    size_t part_at(uint64_t within) const
    {
        return static_cast<size_t>(std::upper_bound(m_starts.begin(), m_starts.end(), within) - m_starts.begin() - 1);
    }

    int64_t m_axis;
    std::vector<uint64_t> m_starts, m_blocks;
    uint64_t m_out_block = 0;
};

// --- ROW_PERMUTE --------------------------------------------------------------------------------

class RowPermuteOp final : public OpTensor {
public:
    RowPermuteOp(TensorPtr in, std::string label, std::vector<int64_t> rows)
        : OpTensor(OpKind::row_permute, {in}, in->info(), std::move(label)), m_rows(std::move(rows))
    {
        m_row_bytes = m_rows.empty() ? 0 : info().nbytes() / m_rows.size();
        m_identity = true;
        for (size_t r = 0; r < m_rows.size(); ++r)
            m_identity = m_identity && m_rows[r] == static_cast<int64_t>(r);
    }
    const std::byte* data() const override { return m_identity ? inputs()[0]->data() : nullptr; }
    std::string args() const override { return "rows=" + format_ints(m_rows); }
    bool concurrent_reads() const override { return inputs_concurrent(inputs()); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        while (size) {
            const uint64_t r = offset / m_row_bytes;
            const uint64_t within = offset % m_row_bytes;
            const uint64_t len = std::min(size, m_row_bytes - within);
            inputs()[0]->read(static_cast<uint64_t>(m_rows[r]) * m_row_bytes + within, dst, len);
            offset += len;
            dst += len;
            size -= len;
        }
    }
    bool map_box(uint64_t row, uint64_t col, BoxSource& out) const override
    {
        if (info().shape.size() < 2)
            return false; // elements permuted one by one
        const MatrixShape m = matrix_shape(info());
        const uint64_t per = m_row_bytes / (m.cols * dtype_size(info().dtype)); // matrix rows per permuted row
        const uint64_t within = row % per;
        out = {0, static_cast<uint64_t>(m_rows[row / per]) * per + within, col, per - within, m.cols - col};
        return true;
    }

private:
    std::vector<int64_t> m_rows;
    uint64_t m_row_bytes = 0;
    bool m_identity = false;
};

// --- TRANSPOSE ----------------------------------------------------------------------------------

// A permutation reduced to its essentials: unit axes dropped, axes that stay adjacent merged.
struct CanonicalPerm {
    std::vector<uint64_t> in_shape;
    std::vector<size_t> perm; // output axis k comes from in axis perm[k]
};

CanonicalPerm canonicalize(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm)
{
    // Output-order list of input axes, without unit axes.
    std::vector<size_t> q;
    for (int64_t p : perm)
        if (shape[static_cast<size_t>(p)] != 1)
            q.push_back(static_cast<size_t>(p));
    // Runs of consecutive input axes in output order become one axis.
    struct Group {
        size_t first_in;
        uint64_t size;
    };
    std::vector<Group> groups;
    for (size_t t = 0; t < q.size(); ++t) {
        const auto d = static_cast<uint64_t>(shape[q[t]]);
        // The next non-unit input axis after q[t-1] must be q[t] for the two to merge.
        bool merge = false;
        if (t > 0) {
            size_t next = q[t - 1] + 1;
            while (next < shape.size() && shape[next] == 1)
                ++next;
            merge = next == q[t];
        }
        if (merge)
            groups.back().size *= d;
        else
            groups.push_back({q[t], d});
    }
    std::vector<size_t> order(groups.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return groups[a].first_in < groups[b].first_in; });
    CanonicalPerm c;
    c.in_shape.resize(groups.size());
    c.perm.resize(groups.size());
    for (size_t rank = 0; rank < order.size(); ++rank) {
        c.in_shape[rank] = groups[order[rank]].size;
        c.perm[order[rank]] = rank;
    }
    return c;
}

class TransposeOp final : public OpTensor {
public:
    TransposeOp(TensorPtr in, TensorInfo out, std::string label, std::vector<int64_t> given,
                const std::vector<int64_t>& perm)
        : OpTensor(OpKind::transpose, {in}, std::move(out), std::move(label)), m_given(std::move(given))
    {
        m_es = dtype_size(info().dtype);
        CanonicalPerm c = canonicalize(in->info().shape, perm);
        const size_t r = c.perm.size();
        bool identity = true;
        for (size_t k = 0; k < r; ++k)
            identity = identity && c.perm[k] == k;
        if (identity) {
            m_mode = Mode::identity;
        } else if (r == 2) {
            m_mode = Mode::tiled;
            m_r = c.in_shape[0];
            m_c = c.in_shape[1];
        } else if (r == 3 && c.perm[0] == 0 && c.perm[1] == 2 && c.perm[2] == 1) {
            m_mode = Mode::tiled; // c.in_shape[0] batches of R x C
            m_r = c.in_shape[1];
            m_c = c.in_shape[2];
        } else {
            m_mode = Mode::gather;
            m_out_shape.resize(r);
            m_src_stride.resize(r);
            std::vector<uint64_t> in_stride(r, 1);
            for (size_t k = r - 1; k > 0; --k)
                in_stride[k - 1] = in_stride[k] * c.in_shape[k];
            for (size_t k = 0; k < r; ++k) {
                m_out_shape[k] = c.in_shape[c.perm[k]];
                m_src_stride[k] = in_stride[c.perm[k]];
            }
        }
        // Whether rows of the matrix shapes are the tiles' rows: then boxes of this op are boxes
        // of its tiles (output), and its tiles can be read as boxes of the input (input).
        m_out_boxes = m_mode == Mode::tiled && matrix_shape(info()).cols == m_r;
        m_in_boxes = m_mode == Mode::tiled && matrix_shape(in->info()).cols == m_c;
    }
    const std::byte* data() const override
    {
        return m_mode == Mode::identity ? inputs()[0]->data() : nullptr;
    }
    // Tiles keep no state (an unmapped input is read into the thread's own scratch), so they can
    // be read concurrently when their input can; the gather mode caches its input.
    bool concurrent_reads() const override
    {
        return m_mode != Mode::gather && inputs()[0]->concurrent_reads();
    }
    std::string args() const override { return m_given.empty() ? std::string() : "perm=" + format_ints(m_given); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        if (m_mode == Mode::identity)
            inputs()[0]->read(offset, dst, size);
        else
            read_by_elements(offset, dst, size);
    }

    void read_elements(uint64_t first, uint64_t count, std::byte* dst) const override
    {
        if (m_mode == Mode::gather)
            return gather(first, count, dst);
        // Output rows of R elements: a partial first row, whole rows, a partial last row.
        const uint64_t R = m_r, C = m_c;
        while (count) {
            const uint64_t y = first / R, i = first % R; // out row (batch * C + j), column
            const uint64_t whole = i == 0 ? std::min(count / R, C - y % C) : 0;
            const uint64_t rows = whole ? whole : 1, cols = whole ? R : std::min(count, R - i);
            out_box(y, i, rows, cols, dst, R);
            first += rows * cols;
            count -= rows * cols;
            dst += rows * cols * m_es;
        }
    }

public:
    void read_box(uint64_t row, uint64_t col, uint64_t rows, uint64_t cols, std::byte* dst,
                  uint64_t dst_stride) const override
    {
        if (!m_out_boxes)
            return OpTensor::read_box(row, col, rows, cols, dst, dst_stride);
        check_box(info(), row, col, rows, cols);
        if (cols == 0)
            return;
        for (uint64_t r = 0; r < rows;) { // rows of one batch at a time
            const uint64_t n = std::min(rows - r, m_c - (row + r) % m_c);
            out_box(row + r, col, n, cols, dst + r * dst_stride * m_es, dst_stride);
            r += n;
        }
    }

private:
    enum class Mode { identity, tiled, gather };

    // Output rows [y, y + rows) (one batch) x columns [i, i + cols) into dst, rows `ds` apart:
    // the source box rows [b*R + i, ...) x columns [j, j + rows), transposed.
    void out_box(uint64_t y, uint64_t i, uint64_t rows, uint64_t cols, std::byte* dst, uint64_t ds) const
    {
        const uint64_t b = y / m_c, j = y % m_c;
        with_elem_size(m_es, [&](auto es) { source_box<decltype(es)::value>(b * m_r + i, j, cols, rows, dst, ds); });
    }

    // Transposes source rows [r0, r0 + h) x columns [c0, c0 + w) into dst (w rows of h, `ds`
    // apart). Where the input lies in memory (a mapping, stored chunks) it is read from there;
    // elsewhere bands of it are read into this thread's scratch first.
    template <size_t ES>
    void source_box(uint64_t r0, uint64_t c0, uint64_t h, uint64_t w, std::byte* dst, uint64_t ds) const
    {
        const TensorData& in = *inputs()[0];
        // At most kPieceBytes of source columns per piece: bounds the scratch of unmapped reads.
        const uint64_t max_w = std::max<uint64_t>(1, kPieceBytes / ES);
        walk_box(h, w, [&](uint64_t r, uint64_t c, uint64_t mh, uint64_t mw) -> std::pair<uint64_t, uint64_t> {
            mw = std::min(mw, max_w);
            std::byte* out = dst + (c * ds + r) * ES;
            BoxView v;
            if (m_in_boxes && in.view_box(r0 + r, c0 + c, v) && v.rows && v.cols) {
                mh = std::min(mh, v.rows);
                mw = std::min(mw, v.cols);
                transpose_block<ES>(v.data, v.stride, out, ds, mh, mw);
                return {mh, mw};
            }
            mh = std::clamp<uint64_t>(kPieceBytes / (ES * mw), 1, mh);
            note_scratch(mh * mw * ES);
            const ScratchLease lease(mh * mw * ES);
            if (m_in_boxes) {
                in.read_box(r0 + r, c0 + c, mh, mw, lease.data(), mw);
            } else { // the input's rows are not the tiles' rows: read each as a byte range
                for (uint64_t k = 0; k < mh; ++k)
                    in.read(((r0 + r + k) * m_c + c0 + c) * ES, lease.data() + k * mw * ES, mw * ES);
            }
            transpose_block<ES>(lease.data(), mw, out, ds, mh, mw);
            return {mh, mw};
        });
    }

    void gather(uint64_t first, uint64_t count, std::byte* dst) const
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        const std::byte* src = inputs()[0]->data();
        if (!src) {
            if (m_cache.empty()) {
                note_scratch(inputs()[0]->info().nbytes());
                m_cache = read_all(*inputs()[0]);
            }
            src = m_cache.data();
        }
        const size_t r = m_out_shape.size();
        std::vector<uint64_t> idx(r);
        uint64_t rest = first, src_off = 0;
        for (size_t k = r; k-- > 0;) {
            idx[k] = rest % m_out_shape[k];
            rest /= m_out_shape[k];
            src_off += idx[k] * m_src_stride[k];
        }
        for (uint64_t t = 0; t < count; ++t) {
            std::memcpy(dst + t * m_es, src + src_off * m_es, m_es);
            for (size_t k = r; k-- > 0;) {
                src_off += m_src_stride[k];
                if (++idx[k] < m_out_shape[k])
                    break;
                src_off -= m_src_stride[k] * m_out_shape[k];
                idx[k] = 0;
            }
        }
        // A sequential reader is done with the materialised input once it reaches the end.
        if (first + count == info().numel())
            std::vector<std::byte>().swap(m_cache);
    }

    std::vector<int64_t> m_given;
    Mode m_mode = Mode::identity;
    uint64_t m_es = 1;
    uint64_t m_r = 0, m_c = 0; // each batch transposes R x C into C x R
    bool m_out_boxes = false, m_in_boxes = false;
    std::vector<uint64_t> m_out_shape, m_src_stride;
    mutable std::mutex m_mutex;
    mutable std::vector<std::byte> m_cache;
};

// --- SCALE, ADD, CAST ---------------------------------------------------------------------------

template <class T>
T load(const std::byte* p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class T>
void store(std::byte* p, T v)
{
    std::memcpy(p, &v, sizeof v);
}

class ScaleOp final : public OpTensor {
public:
    ScaleOp(TensorPtr in, std::string label, double factor)
        : OpTensor(OpKind::scale, {in}, in->info(), std::move(label)), m_factor(factor)
    {
    }
    std::string args() const override { return fmt::format("factor={}", m_factor); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        read_by_elements(offset, dst, size);
    }
    void read_elements(uint64_t first, uint64_t count, std::byte* dst) const override
    {
        const DType d = info().dtype;
        const uint64_t es = dtype_size(d);
        inputs()[0]->read(first * es, dst, count * es);
        // torch multiplies F32/F16/BF16 in float with the factor rounded to float, F64 in double.
        const float f = static_cast<float>(m_factor);
        for (uint64_t i = 0; i < count; ++i) {
            std::byte* p = dst + i * es;
            switch (d) {
            case DType::f64: store(p, load<double>(p) * m_factor); break;
            case DType::f32: store(p, load<float>(p) * f); break;
            case DType::f16: store(p, f32_to_f16(f16_to_f32(load<uint16_t>(p)) * f)); break;
            case DType::bf16: store(p, f32_to_bf16(bf16_to_f32(load<uint16_t>(p)) * f)); break;
            default: break;
            }
        }
    }

private:
    double m_factor;
};

template <class T>
void add_ints(std::byte* acc, const std::byte* x, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i)
        store<T>(acc + i * sizeof(T), static_cast<T>(load<T>(acc + i * sizeof(T)) + load<T>(x + i * sizeof(T))));
}

// acc[i] += x[i] for n elements of dtype d; narrow floats round after each addition like torch.
void add_into(DType d, std::byte* acc, const std::byte* x, uint64_t n)
{
    switch (d) {
    case DType::f64:
    case DType::c128:
        for (uint64_t i = 0; i < n * (d == DType::c128 ? 2 : 1); ++i)
            store(acc + i * 8, load<double>(acc + i * 8) + load<double>(x + i * 8));
        break;
    case DType::f32:
    case DType::c64:
        for (uint64_t i = 0; i < n * (d == DType::c64 ? 2 : 1); ++i)
            store(acc + i * 4, load<float>(acc + i * 4) + load<float>(x + i * 4));
        break;
    case DType::f16:
        for (uint64_t i = 0; i < n; ++i)
            store(acc + i * 2, f32_to_f16(f16_to_f32(load<uint16_t>(acc + i * 2)) + f16_to_f32(load<uint16_t>(x + i * 2))));
        break;
    case DType::bf16:
        for (uint64_t i = 0; i < n; ++i)
            store(acc + i * 2, f32_to_bf16(bf16_to_f32(load<uint16_t>(acc + i * 2)) + bf16_to_f32(load<uint16_t>(x + i * 2))));
        break;
    case DType::i64: case DType::u64: add_ints<uint64_t>(acc, x, n); break;
    case DType::i32: case DType::u32: add_ints<uint32_t>(acc, x, n); break;
    case DType::i16: case DType::u16: add_ints<uint16_t>(acc, x, n); break;
    case DType::i8: case DType::u8: add_ints<uint8_t>(acc, x, n); break;
    case DType::boolean:
        for (uint64_t i = 0; i < n; ++i)
            acc[i] = std::byte{static_cast<uint8_t>(acc[i] != std::byte{0} || x[i] != std::byte{0})};
        break;
    default: break;
    }
}

bool addable(DType d) { return d != DType::f8_e4m3 && d != DType::f8_e5m2 && dtype_size(d) != 0; }

class AddOp final : public OpTensor {
public:
    AddOp(std::vector<TensorPtr> ins, std::string label)
        : OpTensor(OpKind::add, ins, ins[0]->info(), std::move(label))
    {
    }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        read_by_elements(offset, dst, size);
    }
    void read_elements(uint64_t first, uint64_t count, std::byte* dst) const override
    {
        const DType d = info().dtype;
        const uint64_t es = dtype_size(d);
        inputs()[0]->read(first * es, dst, count * es);
        if (inputs().size() == 1)
            return;
        const uint64_t piece = std::max<uint64_t>(1, kPieceBytes / es);
        note_scratch(std::min(count, piece) * es);
        const ScratchLease scratch(std::min(count, piece) * es);
        for (uint64_t done = 0; done < count; done += piece) {
            const uint64_t m = std::min(piece, count - done);
            for (size_t k = 1; k < inputs().size(); ++k) {
                inputs()[k]->read((first + done) * es, scratch.data(), m * es);
                add_into(d, dst + done * es, scratch.data(), m);
            }
        }
    }
};

class CastOp final : public OpTensor {
public:
    CastOp(TensorPtr in, TensorInfo out, std::string label)
        : OpTensor(OpKind::cast, {std::move(in)}, std::move(out), std::move(label))
    {
    }
    std::string args() const override { return std::string(dtype_name(info().dtype)); }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        read_by_elements(offset, dst, size);
    }
    void read_elements(uint64_t first, uint64_t count, std::byte* dst) const override
    {
        const DType from = inputs()[0]->info().dtype, to = info().dtype;
        const uint64_t ses = dtype_size(from), des = dtype_size(to);
        if (const std::byte* src = inputs()[0]->data()) {
            convert_elements(from, src + first * ses, to, dst, count);
            return;
        }
        const uint64_t piece = std::max<uint64_t>(1, kPieceBytes / ses);
        note_scratch(std::min(count, piece) * ses);
        const ScratchLease scratch(std::min(count, piece) * ses);
        for (uint64_t done = 0; done < count; done += piece) {
            const uint64_t m = std::min(piece, count - done);
            inputs()[0]->read((first + done) * ses, scratch.data(), m * ses);
            convert_elements(from, scratch.data(), to, dst + done * des, m);
        }
    }
};

// --- GENERATE -----------------------------------------------------------------------------------

class GenerateOp final : public OpTensor {
public:
    GenerateOp(TensorInfo out, std::string label, Generator gen, double scalar)
        : OpTensor(OpKind::generate, {}, std::move(out), std::move(label)), m_gen(gen), m_scalar(scalar)
    {
        const DType d = info().dtype;
        store_double(d, scalar, m_fill);
        store_int(d, 1, m_one);
        store_int(d, 0, m_zero);
        const auto& s = info().shape;
        if (s.size() >= 2) {
            m_rows = static_cast<uint64_t>(s[s.size() - 2]);
            m_cols = static_cast<uint64_t>(s[s.size() - 1]);
        }
        if (gen == Generator::inv_freq) {
            m_dim = s.empty() ? 0 : 2 * static_cast<uint64_t>(s[0]);
            m_base = static_cast<float>(scalar);
        }
    }
    std::string name() const override
    {
        switch (m_gen) {
        case Generator::fill: return "fill";
        case Generator::tril: return "tril";
        case Generator::inv_freq: return "inv_freq";
        case Generator::arange: return "arange";
        }
        return "generate";
    }
    std::string args() const override
    {
        switch (m_gen) {
        case Generator::fill: return fmt::format("value={}", m_scalar);
        case Generator::inv_freq: return fmt::format("base={}, dim={}", m_scalar, m_dim);
        default: return {};
        }
    }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        read_by_elements(offset, dst, size);
    }
    void read_elements(uint64_t first, uint64_t count, std::byte* dst) const override
    {
        const DType d = info().dtype;
        const uint64_t es = dtype_size(d);
        for (uint64_t t = 0; t < count; ++t) {
            const uint64_t e = first + t;
            std::byte* p = dst + t * es;
            switch (m_gen) {
            case Generator::fill: std::memcpy(p, m_fill, es); break;
            case Generator::tril: {
                const uint64_t c = e % m_cols, r = (e / m_cols) % m_rows;
                std::memcpy(p, c <= r ? m_one : m_zero, es);
                break;
            }
            case Generator::inv_freq: store_double(d, inv_freq(e), p); break;
            case Generator::arange: store_int(d, static_cast<int64_t>(e), p); break;
            }
        }
    }

private:
    // 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)) in float32, element by element:
    // the exponent is a float32 division, the power is rounded from double (what a correctly
    // rounded powf gives), and the reciprocal is a float32 division.
    double inv_freq(uint64_t i) const
    {
        const float expo = static_cast<float>(2 * i) / static_cast<float>(m_dim);
        const auto p = static_cast<float>(std::pow(static_cast<double>(m_base), static_cast<double>(expo)));
        return static_cast<double>(1.0f / p);
    }

    Generator m_gen;
    double m_scalar;
    std::byte m_fill[16]{}, m_one[16]{}, m_zero[16]{};
    uint64_t m_rows = 1, m_cols = 1, m_dim = 0;
    float m_base = 0;
};

// --- KERNEL -------------------------------------------------------------------------------------

class KernelOp final : public OpTensor {
public:
    KernelOp(std::vector<TensorPtr> ins, TensorInfo out, std::string label,
             std::shared_ptr<const Kernel> kernel, std::vector<std::string> names)
        : OpTensor(OpKind::kernel, std::move(ins), std::move(out), std::move(label)),
          m_kernel(std::move(kernel)), m_names(std::move(names))
    {
        m_names.resize(inputs().size());
    }

protected:
    void do_read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        if (!m_computed)
            compute();
        std::memcpy(dst, m_output.data() + offset, size);
        if (offset + size == info().nbytes()) {
            std::vector<std::byte>().swap(m_output);
            m_computed = false;
        }
    }

private:
    void compute() const
    {
        const size_t n = inputs().size();
        std::vector<std::vector<std::byte>> data(n);
        std::vector<ckpt_tensor_info> infos(n);
        std::vector<const ckpt_tensor_info*> info_ptrs(n);
        std::vector<const void*> data_ptrs(n);
        uint64_t held = info().nbytes();
        for (size_t k = 0; k < n; ++k) {
            const TensorData& in = *inputs()[k];
            held += in.info().nbytes();
            note_scratch(held);
            data[k] = read_all(in);
            infos[k] = host::abi_tensor_info(in.info(), m_names[k]);
            info_ptrs[k] = &infos[k];
            data_ptrs[k] = data[k].data();
        }
        m_output.assign(info().nbytes(), std::byte{0});
        const ckpt_tensor_info out_info = host::abi_tensor_info(info(), label());
        ckpt_kernel_io io{};
        io.struct_size = sizeof io;
        io.input_count = static_cast<uint32_t>(n);
        io.inputs = info_ptrs.data();
        io.input_data = data_ptrs.data();
        io.output = &out_info;
        io.output_data = m_output.data();
        const ckpt_kernel& k = m_kernel->raw();
        try {
            host::call_plugin(m_kernel->plugin(), fmt::format("{}: running the kernel", label()),
                              [&] { return k.run(k.ctx, &io); });
        } catch (...) {
            std::vector<std::byte>().swap(m_output);
            throw;
        }
        m_computed = true;
    }

    std::shared_ptr<const Kernel> m_kernel;
    std::vector<std::string> m_names;
    mutable std::mutex m_mutex;
    mutable std::vector<std::byte> m_output;
    mutable bool m_computed = false;
};

// --- validation and construction ----------------------------------------------------------------

void expect_inputs(const OpSpec& s, const std::string& label, size_t min, size_t max)
{
    const size_t n = s.inputs.size();
    if (n < min || n > max) {
        const std::string want = min == max ? fmt::format("{}", min)
                                 : max == SIZE_MAX ? fmt::format("at least {}", min)
                                                   : fmt::format("{} to {}", min, max);
        fail(label, s.kind, fmt::format("takes {} input(s), found {}", want, n));
    }
    for (const auto& in : s.inputs)
        if (!in)
            fail(label, s.kind, "has a null input");
}

OpPtr make_transpose(OpSpec& s, const std::string& label)
{
    const TensorInfo& in = s.inputs[0]->info();
    const size_t r = in.shape.size();
    std::vector<int64_t> perm = s.ints;
    if (perm.empty())
        for (size_t k = r; k-- > 0;)
            perm.push_back(static_cast<int64_t>(k));
    if (perm.size() != r)
        fail(label, s.kind, fmt::format("permutation {} has {} entries, but {} has rank {}", format_ints(perm),
                                        perm.size(), describe(in), r));
    std::vector<bool> seen(r, false);
    for (int64_t& p : perm) {
        if (p < -static_cast<int64_t>(r) || p >= static_cast<int64_t>(r))
            fail(label, s.kind, fmt::format("permutation {} has axis {} outside [0, {}) of {}", format_ints(s.ints),
                                            p, r, describe(in)));
        if (p < 0)
            p += static_cast<int64_t>(r);
        if (seen[static_cast<size_t>(p)])
            fail(label, s.kind, fmt::format("{} is not a permutation: axis {} appears twice", format_ints(s.ints), p));
        seen[static_cast<size_t>(p)] = true;
    }
    TensorInfo out{in.dtype, {}};
    for (int64_t p : perm)
        out.shape.push_back(in.shape[static_cast<size_t>(p)]);
    return std::make_shared<TransposeOp>(s.inputs[0], std::move(out), label, s.ints, perm);
}

OpPtr make_split(OpSpec& s, const std::string& label)
{
    const TensorInfo& in = s.inputs[0]->info();
    if (in.shape.empty())
        fail(label, s.kind, fmt::format("needs a tensor of rank >= 1, found {}", describe(in)));
    const int64_t axis = normalize_axis(s.axis, in.shape.size(), label, s.kind, in);
    const int64_t d = in.shape[static_cast<size_t>(axis)];
    if (s.count < 1)
        fail(label, s.kind, fmt::format("needs a chunk count >= 1, found {}", s.count));
    if (d % s.count != 0)
        fail(label, s.kind, fmt::format("into {} equal chunks along axis {} of {}: {} is not divisible by {}",
                                        s.count, axis, describe(in), d, s.count));
    if (s.index < 0 || s.index >= s.count)
        fail(label, s.kind, fmt::format("chunk index {} is outside [0, {})", s.index, s.count));
    TensorInfo out = in;
    out.shape[static_cast<size_t>(axis)] = d / s.count;
    return std::make_shared<SplitOp>(s.inputs[0], std::move(out), label, axis, s.index, s.count);
}

OpPtr make_concat(OpSpec& s, const std::string& label)
{
    const TensorInfo& first = s.inputs[0]->info();
    if (first.shape.empty())
        fail(label, s.kind, fmt::format("needs tensors of rank >= 1, found {}", describe(first)));
    const int64_t axis = normalize_axis(s.axis, first.shape.size(), label, s.kind, first);
    const auto ax = static_cast<size_t>(axis);
    TensorInfo out = first;
    out.shape[ax] = 0;
    for (size_t k = 0; k < s.inputs.size(); ++k) {
        const TensorInfo& in = s.inputs[k]->info();
        bool ok = in.dtype == first.dtype && in.shape.size() == first.shape.size();
        for (size_t a = 0; ok && a < in.shape.size(); ++a)
            ok = a == ax || in.shape[a] == first.shape[a];
        if (!ok)
            fail(label, s.kind, fmt::format("along axis {} needs inputs that agree on dtype and every other "
                                            "axis: input 0 is {}, input {} is {}",
                                            axis, describe(first), k, describe(in)));
        if (in.shape[ax] > INT64_MAX - out.shape[ax])
            fail(label, s.kind, "output axis length overflows 64 bits");
        out.shape[ax] += in.shape[ax];
    }
    check_info(out, label, s.kind);
    return std::make_shared<ConcatOp>(s.inputs, std::move(out), label, axis);
}

OpPtr make_row_permute(OpSpec& s, const std::string& label)
{
    const TensorInfo& in = s.inputs[0]->info();
    if (in.shape.empty())
        fail(label, s.kind, fmt::format("needs a tensor of rank >= 1, found {}", describe(in)));
    const auto rows = static_cast<uint64_t>(in.shape[0]);
    if (s.ints.size() != rows)
        fail(label, s.kind, fmt::format("needs one source row per row of {} ({}), found {} entries",
                                        describe(in), rows, s.ints.size()));
    std::vector<bool> seen(s.ints.size(), false);
    for (size_t r = 0; r < s.ints.size(); ++r) {
        const int64_t v = s.ints[r];
        if (v < 0 || static_cast<uint64_t>(v) >= rows)
            fail(label, s.kind, fmt::format("row {} takes source row {}, outside [0, {}) of {}", r, v, rows,
                                            describe(in)));
        if (seen[static_cast<size_t>(v)])
            fail(label, s.kind, fmt::format("rows are not a permutation: source row {} is used twice", v));
        seen[static_cast<size_t>(v)] = true;
    }
    return std::make_shared<RowPermuteOp>(s.inputs[0], label, std::move(s.ints));
}

OpPtr make_reshape(OpSpec& s, const std::string& label)
{
    const TensorInfo& in = s.inputs[0]->info();
    TensorInfo out{in.dtype, s.ints};
    size_t infer = SIZE_MAX;
    uint64_t known = 1;
    for (size_t k = 0; k < out.shape.size(); ++k) {
        const int64_t d = out.shape[k];
        if (d == -1 && infer == SIZE_MAX) {
            infer = k;
            continue;
        }
        if (d < 0)
            fail(label, s.kind, fmt::format("to {}: dimensions must be >= 0 (one may be -1)", format_ints(s.ints)));
        if (d != 0 && known > UINT64_MAX / static_cast<uint64_t>(d))
            fail(label, s.kind, fmt::format("to {}: too many elements", format_ints(s.ints)));
        known *= static_cast<uint64_t>(d);
    }
    const uint64_t numel = in.numel();
    if (infer != SIZE_MAX) {
        if (known == 0 || numel % known != 0 || numel / known > INT64_MAX)
            fail(label, s.kind, fmt::format("cannot infer the -1 in {} for {} ({} elements)", format_ints(s.ints),
                                            describe(in), numel));
        out.shape[infer] = static_cast<int64_t>(numel / known);
        known = numel;
    }
    if (out.shape.size() > CKPT_MAX_RANK || known != numel)
        fail(label, s.kind, fmt::format("to {} needs the element count of {} ({}), found {}", format_ints(s.ints),
                                        describe(in), numel, known));
    return std::make_shared<ForwardOp>(OpKind::reshape, s.inputs, std::move(out), label);
}

OpPtr make_generate(OpSpec& s, const std::string& label)
{
    TensorInfo out{s.dtype, s.ints};
    check_info(out, label, s.kind);
    switch (s.generator) {
    case Generator::fill:
    case Generator::arange: break;
    case Generator::tril:
        if (out.shape.size() < 2)
            fail(label, s.kind, fmt::format("tril needs rank >= 2, found shape {}", format_ints(out.shape)));
        if (!is_castable_dtype(s.dtype))
            unsupported(label, s.kind, fmt::format("tril supports float, integer and BOOL dtypes, found {}",
                                                   dtype_name(s.dtype)));
        break;
    case Generator::inv_freq:
        if (out.shape.size() != 1)
            fail(label, s.kind, fmt::format("inv_freq needs ints = {{dim/2}}, found {}", format_ints(out.shape)));
        if (!is_float_dtype(s.dtype))
            fail(label, s.kind, fmt::format("inv_freq needs a float dtype, found {}", dtype_name(s.dtype)));
        if (!(std::isfinite(s.scalar) && s.scalar > 0))
            fail(label, s.kind, fmt::format("inv_freq needs a positive base, found {}", s.scalar));
        break;
    default:
        unsupported(label, s.kind, fmt::format("generator {} is unknown to this host", static_cast<int32_t>(s.generator)));
    }
    if (s.generator == Generator::arange && (s.dtype == DType::c64 || s.dtype == DType::c128))
        unsupported(label, s.kind, "arange does not support complex dtypes");
    return std::make_shared<GenerateOp>(std::move(out), label, s.generator, s.scalar);
}

OpPtr make_kernel(OpSpec& s, const std::string& label)
{
    if (!s.kernel || !s.kernel->raw().run)
        fail(label, s.kind, "needs a kernel with a run function");
    TensorInfo out{s.dtype, s.ints};
    check_info(out, label, s.kind);
    return std::make_shared<KernelOp>(s.inputs, std::move(out), label, s.kernel, std::move(s.input_names));
}

} // namespace

OpPtr make_op(OpSpec s, std::string label)
{
    const OpKind kind = s.kind;
    if (!is_known_op_kind(static_cast<int32_t>(kind)))
        throw PlanError(CKPT_ERR_UNSUPPORTED,
                        fmt::format("{}: op kind {} is unknown to this host", label, static_cast<int32_t>(kind)));
    switch (kind) {
    case OpKind::generate: expect_inputs(s, label, 0, 0); break;
    case OpKind::kernel: expect_inputs(s, label, 0, SIZE_MAX); break;
    case OpKind::concat:
    case OpKind::add: expect_inputs(s, label, 1, SIZE_MAX); break;
    default: expect_inputs(s, label, 1, 1); break;
    }
    for (const auto& in : s.inputs)
        check_info(in->info(), label, kind);

    switch (kind) {
    case OpKind::copy: return std::make_shared<ForwardOp>(kind, s.inputs, s.inputs[0]->info(), label);
    case OpKind::reshape: return make_reshape(s, label);
    case OpKind::transpose: return make_transpose(s, label);
    case OpKind::split: return make_split(s, label);
    case OpKind::concat: return make_concat(s, label);
    case OpKind::row_permute: return make_row_permute(s, label);
    case OpKind::scale: {
        const DType d = s.inputs[0]->info().dtype;
        if (!is_float_dtype(d))
            fail(label, kind, fmt::format("needs an F64, F32, F16 or BF16 input, found {} (cast it first)",
                                          describe(s.inputs[0]->info())));
        if (!std::isfinite(s.scalar))
            fail(label, kind, fmt::format("needs a finite factor, found {}", s.scalar));
        return std::make_shared<ScaleOp>(s.inputs[0], label, s.scalar);
    }
    case OpKind::add: {
        const TensorInfo& first = s.inputs[0]->info();
        for (size_t k = 1; k < s.inputs.size(); ++k)
            if (s.inputs[k]->info() != first)
                fail(label, kind, fmt::format("needs inputs of one shape and dtype: input 0 is {}, input {} is {}",
                                              describe(first), k, describe(s.inputs[k]->info())));
        if (!addable(first.dtype))
            unsupported(label, kind, fmt::format("does not support {}", dtype_name(first.dtype)));
        return std::make_shared<AddOp>(s.inputs, label);
    }
    case OpKind::cast: {
        const TensorInfo& in = s.inputs[0]->info();
        if (!is_castable_dtype(in.dtype) || !is_castable_dtype(s.dtype))
            unsupported(label, kind, fmt::format("from {} to {} is not supported (floats, integers and BOOL are)",
                                                 dtype_name(in.dtype), dtype_name(s.dtype)));
        TensorInfo out{s.dtype, in.shape};
        check_info(out, label, kind);
        if (s.dtype == in.dtype)
            return std::make_shared<ForwardOp>(OpKind::cast, s.inputs, std::move(out), label);
        return std::make_shared<CastOp>(s.inputs[0], std::move(out), label);
    }
    case OpKind::generate: return make_generate(s, label);
    case OpKind::kernel: return make_kernel(s, label);
    }
    throw PlanError(CKPT_ERR_INTERNAL, fmt::format("{}: unhandled op kind", label));
}

} // namespace ckpt::engine
