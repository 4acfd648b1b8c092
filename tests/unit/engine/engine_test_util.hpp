// SPDX-License-Identifier: Apache-2.0
// Small tensors for the engine tests: typed constructors, an unmapped wrapper, chunked-read checks.
#pragma once

#include "core/tensor.hpp"
#include "engine/ops.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

namespace ckpt::engine::testing {

template <class T>
TensorPtr tensor_of(DType d, std::vector<int64_t> shape, const std::vector<T>& values)
{
    std::vector<std::byte> bytes(values.size() * sizeof(T));
    if (!bytes.empty())
        std::memcpy(bytes.data(), values.data(), bytes.size());
    return std::make_shared<MemoryTensor>(TensorInfo{d, std::move(shape)}, std::move(bytes));
}

inline TensorPtr f32(std::vector<int64_t> shape, const std::vector<float>& v) { return tensor_of(DType::f32, std::move(shape), v); }

/// 0, 1, 2, ... as F32 in `shape`.
inline TensorPtr iota_f32(std::vector<int64_t> shape)
{
    TensorInfo info{DType::f32, shape};
    std::vector<float> v(info.numel());
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<float>(i);
    return f32(std::move(shape), v);
}

/// Hides a tensor's data() so ops take their read() paths (like a tensor from a compressed file).
class Unmapped final : public TensorData {
public:
    explicit Unmapped(TensorPtr inner) : m_inner(std::move(inner)) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override { m_inner->read(offset, dst, size); }
    mutable uint64_t reads = 0;

private:
    TensorPtr m_inner;
};

inline TensorPtr unmapped(TensorPtr t) { return std::make_shared<Unmapped>(std::move(t)); }

/// A matrix stored chunk by chunk (ch x cw chunks, ragged at the edges), as an HDF5 dataset's
/// chunks lie in a mapping: no data(), but view_box() offers each chunk where it is stored.
class ChunkStored final : public TensorData {
public:
    ChunkStored(const TensorData& from, uint64_t ch, uint64_t cw) : m_info(from.info()), m_ch(ch), m_cw(cw)
    {
        const MatrixShape m = matrix_shape(m_info);
        m_rows = m.rows;
        m_cols = m.cols;
        m_es = dtype_size(m_info.dtype);
        m_grid_cols = (m_cols + cw - 1) / cw;
        const std::vector<std::byte> flat = read_all(from);
        m_chunks.resize(((m_rows + ch - 1) / ch) * m_grid_cols, std::vector<std::byte>(ch * cw * m_es));
        for (uint64_t r = 0; r < m_rows; ++r)
            for (uint64_t c = 0; c < m_cols; ++c)
                std::memcpy(at(r, c), flat.data() + (r * m_cols + c) * m_es, m_es);
    }
    const TensorInfo& info() const override { return m_info; }
    bool concurrent_reads() const override { return true; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        for (uint64_t b = 0; b < size; ++b) {
            const uint64_t e = (offset + b) / m_es;
            dst[b] = at(e / m_cols, e % m_cols)[(offset + b) % m_es];
        }
    }
    bool view_box(uint64_t row, uint64_t col, BoxView& out) const override
    {
        out = {at(row, col), m_cw, std::min(m_ch - row % m_ch, m_rows - row), std::min(m_cw - col % m_cw, m_cols - col)};
        return true;
    }

private:
    std::byte* at(uint64_t r, uint64_t c) const
    {
        auto& chunk = m_chunks[(r / m_ch) * m_grid_cols + c / m_cw];
        return chunk.data() + ((r % m_ch) * m_cw + c % m_cw) * m_es;
    }
    TensorInfo m_info;
    uint64_t m_ch, m_cw, m_rows = 0, m_cols = 0, m_es = 1, m_grid_cols = 1;
    mutable std::vector<std::vector<std::byte>> m_chunks;
};

template <class T>
std::vector<T> values_of(const TensorData& t)
{
    std::vector<std::byte> bytes = read_all(t);
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty())
        std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
}

/// Reads `t` in chunks of several odd sizes from several odd starting offsets and checks that the
/// bytes equal one full read.
inline void expect_chunked_reads_match(const TensorData& t)
{
    std::vector<std::byte> full(t.info().nbytes());
    if (!full.empty())
        t.read(0, full.data(), full.size());
    for (uint64_t chunk : {1u, 3u, 5u, 7u, 13u, 64u}) {
        for (uint64_t start : {0u, 1u, 3u}) {
            if (start > full.size())
                continue;
            std::vector<std::byte> part(full.size() - start);
            for (uint64_t off = start; off < full.size(); off += chunk) {
                const uint64_t len = std::min<uint64_t>(chunk, full.size() - off);
                t.read(off, part.data() + (off - start), len);
            }
            ASSERT_TRUE(std::equal(part.begin(), part.end(), full.begin() + static_cast<std::ptrdiff_t>(start)))
                << "chunk " << chunk << " start " << start;
        }
    }
}

/// The label a plan gives an output tensor, as the ops see it.
inline std::string out_label(const char* name) { return std::string("output tensor '") + name + "'"; }

inline OpPtr op1(OpKind kind, TensorPtr in, const char* label = "out")
{
    OpSpec s;
    s.kind = kind;
    s.inputs = {std::move(in)};
    return make_op(std::move(s), out_label(label));
}

} // namespace ckpt::engine::testing
