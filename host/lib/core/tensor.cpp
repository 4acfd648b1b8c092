// SPDX-License-Identifier: Apache-2.0
// Lazily readable tensors: in-memory and mapped implementations and helpers.
#include "core/tensor.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ckpt {

uint64_t TensorInfo::numel() const
{
    uint64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0)
            throw_input("negative dimension {} in shape", d);
        if (d != 0 && n > UINT64_MAX / static_cast<uint64_t>(d))
            throw_input("tensor shape overflows 64 bits");
        n *= static_cast<uint64_t>(d);
    }
    return n;
}

std::string describe(const TensorInfo& info)
{
    return fmt::format("{}[{}]", dtype_name(info.dtype), fmt::join(info.shape, ", "));
}

MatrixShape matrix_shape(const TensorInfo& info)
{
    const uint64_t n = info.numel();
    if (info.shape.size() < 2)
        return {n == 0 ? 0u : 1u, n};
    const auto cols = static_cast<uint64_t>(info.shape.back());
    return {cols == 0 ? 0 : n / cols, cols};
}

void check_box(const TensorInfo& info, uint64_t row, uint64_t col, uint64_t rows, uint64_t cols)
{
    const MatrixShape m = matrix_shape(info);
    if (row > m.rows || rows > m.rows - row || col > m.cols || cols > m.cols - col)
        throw Error(ExitCode::input, fmt::format("read of rows [{}, {}) x columns [{}, {}) is outside {}", row,
                                                 row + rows, col, col + cols, describe(info)));
}

void copy_rows(std::byte* dst, uint64_t dst_pitch, const std::byte* src, uint64_t src_pitch, uint64_t rows,
               uint64_t row_bytes)
{
#if defined(__SSE2__)
    if (row_bytes % 16 == 0 && row_bytes <= 128) {
        for (uint64_t r = 0; r < rows; ++r, dst += dst_pitch, src += src_pitch)
            for (uint64_t b = 0; b < row_bytes; b += 16)
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + b),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + b)));
        return;
    }
#endif
    for (uint64_t r = 0; r < rows; ++r, dst += dst_pitch, src += src_pitch)
        std::memcpy(dst, src, row_bytes);
}

bool TensorData::view_box(uint64_t row, uint64_t col, BoxView& out) const
{
    const std::byte* p = data();
    if (!p)
        return false;
    const MatrixShape m = matrix_shape(info());
    out = {p + (row * m.cols + col) * dtype_size(info().dtype), m.cols, m.rows - row, m.cols - col};
    return true;
}

void TensorData::read_box(uint64_t row, uint64_t col, uint64_t rows, uint64_t cols, std::byte* dst,
                          uint64_t dst_stride) const
{
    check_box(info(), row, col, rows, cols);
    const uint64_t es = dtype_size(info().dtype);
    const uint64_t width = matrix_shape(info()).cols;
    walk_box(rows, cols, [&](uint64_t r, uint64_t c, uint64_t h, uint64_t w) -> std::pair<uint64_t, uint64_t> {
        BoxView v;
        if (!view_box(row + r, col + c, v) || v.rows == 0 || v.cols == 0) { // one row, read
            read(((row + r) * width + col + c) * es, dst + (r * dst_stride + c) * es, w * es);
            return {1, w};
        }
        h = std::min(h, v.rows);
        w = std::min(w, v.cols);
        copy_rows(dst + (r * dst_stride + c) * es, dst_stride * es, v.data, v.stride * es, h, w * es);
        return {h, w};
    });
}

namespace {
void check_range(const TensorInfo& info, uint64_t offset, uint64_t size)
{
    const uint64_t n = info.nbytes();
    if (offset > n || size > n - offset)
        throw Error(ExitCode::input, fmt::format("read of {} bytes at offset {} is outside a tensor of {} bytes",
                                                 size, offset, n));
}
} // namespace

MemoryTensor::MemoryTensor(TensorInfo info, std::vector<std::byte> bytes)
    : m_info(std::move(info)), m_bytes(std::move(bytes))
{
    if (m_bytes.size() != m_info.nbytes())
        throw Error(ExitCode::input, fmt::format("{} needs {} bytes, got {}", describe(m_info),
                                                 m_info.nbytes(), m_bytes.size()));
}

void MemoryTensor::read(uint64_t offset, std::byte* dst, uint64_t size) const
{
    check_range(m_info, offset, size);
    if (size)
        std::memcpy(dst, m_bytes.data() + offset, size);
}

SpanTensor::SpanTensor(TensorInfo info, const std::byte* bytes, std::shared_ptr<const void> owner)
    : m_info(std::move(info)), m_bytes(bytes), m_owner(std::move(owner))
{
}

void SpanTensor::read(uint64_t offset, std::byte* dst, uint64_t size) const
{
    check_range(m_info, offset, size);
    if (size)
        std::memcpy(dst, m_bytes + offset, size);
}

std::vector<std::byte> read_all(const TensorData& t)
{
    std::vector<std::byte> out(t.info().nbytes());
    if (const std::byte* p = t.data())
        std::memcpy(out.data(), p, out.size());
    else if (!out.empty())
        t.read(0, out.data(), out.size());
    return out;
}

bool equal_bytes(const TensorData& a, const TensorData& b)
{
    if (a.info() != b.info())
        return false;
    const uint64_t n = a.info().nbytes();
    const std::byte* pa = a.data();
    const std::byte* pb = b.data();
    if (pa && pb)
        return n == 0 || std::memcmp(pa, pb, n) == 0;
    constexpr uint64_t kChunk = 4u << 20;
    std::vector<std::byte> ba(std::min(n, kChunk)), bb(std::min(n, kChunk));
    for (uint64_t off = 0; off < n; off += kChunk) {
        const uint64_t len = std::min(kChunk, n - off);
        const std::byte* ca = pa ? pa + off : (a.read(off, ba.data(), len), ba.data());
        const std::byte* cb = pb ? pb + off : (b.read(off, bb.data(), len), bb.data());
        if (std::memcmp(ca, cb, len) != 0)
            return false;
    }
    return true;
}

} // namespace ckpt
