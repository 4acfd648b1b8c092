// SPDX-License-Identifier: Apache-2.0
// Lazily readable tensors: what every container reader produces and every writer consumes.
#pragma once

#include "core/dtype.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

/// Shape and element type. Bytes are always C-contiguous and little-endian.
struct TensorInfo {
    DType dtype = DType::invalid;
    std::vector<int64_t> shape;

    /// Product of the shape (1 for rank 0). Throws InputError on overflow.
    uint64_t numel() const;
    uint64_t nbytes() const { return numel() * dtype_size(dtype); }
    bool operator==(const TensorInfo& o) const { return dtype == o.dtype && shape == o.shape; }
    bool operator!=(const TensorInfo& o) const { return !(*this == o); }
};

/// "F32[2, 64]" for messages.
std::string describe(const TensorInfo& info);

/// A tensor seen as a matrix: its last dimension's elements make a row (rank 0 and 1: one row).
/// Box reads and views below address elements by (row, column) of this matrix.
struct MatrixShape {
    uint64_t rows = 0, cols = 0;
};
MatrixShape matrix_shape(const TensorInfo& info);

/// Elements of a tensor that lie in memory at one row stride, starting at some (row, col).
struct BoxView {
    const std::byte* data = nullptr; // the element at (row, col)
    uint64_t stride = 0;             // elements from one row to the next
    uint64_t rows = 0, cols = 0;     // rows and columns from (row, col) on that lie so
};

/// The bytes of one tensor, produced on demand. Implementations: a span of a mapped file, a
/// strided gather from a pickle storage, an HDF5 dataset, a computed plan op. Readers keep
/// whatever they need alive (the mapping, the open file) through the shared pointers that hold
/// the TensorData. Thread safety: `read` may be called concurrently on different objects; one
/// object is read from one thread at a time.
class TensorData {
public:
    virtual ~TensorData() = default;
    virtual const TensorInfo& info() const = 0;
    /// The whole contiguous tensor without copying, or nullptr when it must be read.
    /// Valid as long as this object lives.
    virtual const std::byte* data() const { return nullptr; }
    /// Copies bytes [offset, offset + size) of the contiguous tensor into `dst`.
    /// Throws InputError naming the file when the source cannot be read.
    virtual void read(uint64_t offset, std::byte* dst, uint64_t size) const = 0;
    /// The tensor whose info and bytes this one hands out unchanged, for wrappers that only
    /// observe reads (a progress counter); nullptr otherwise. Lets a writer find a stored source
    /// behind such wrappers and copy its stored form (compressed chunks) without decoding it.
    virtual const TensorData* passthrough_of() const { return nullptr; }
    /// Tells this tensor that a writer copied `size` of its bytes from the tensor that
    /// passthrough_of() leads to, without calling read(). Wrappers that count bytes count these
    /// too, and pass them on to what they wrap.
    virtual void note_bytes_copied(uint64_t size) const { (void)size; }
    /// Whether read() may run on several threads at once for this one object: true for bytes in
    /// memory and for ops that only compute from such. Lets a writer spread reading over its
    /// pool. Wrappers that count reads say no (writers reach past them with stored_source()).
    virtual bool concurrent_reads() const { return data() != nullptr; }
    /// Where the element at (row, col) of the matrix shape lies in memory, with how many rows
    /// and columns from there lie at one stride (a stored chunk, a column range of a mapping);
    /// false when the bytes must be computed or read. (row, col) must lie inside the tensor.
    /// The default offers data(). Thread safe when concurrent_reads() is.
    virtual bool view_box(uint64_t row, uint64_t col, BoxView& out) const;
    /// Copies rows [row, row + rows) x columns [col, col + cols) of the matrix shape into `dst`,
    /// its rows `dst_stride` elements apart. The default copies from view_box() where it can and
    /// read()s row by row elsewhere; a transpose writes straight into `dst`. InputError when the
    /// box is outside the tensor or the source cannot be read.
    virtual void read_box(uint64_t row, uint64_t col, uint64_t rows, uint64_t cols, std::byte* dst,
                          uint64_t dst_stride) const;
};

/// Throws InputError unless the box lies inside `info`'s matrix shape.
void check_box(const TensorInfo& info, uint64_t row, uint64_t col, uint64_t rows, uint64_t cols);

/// Copies `rows` rows of `row_bytes` bytes, `src_pitch` bytes apart, to rows `dst_pitch` apart.
/// Short rows (the 48-byte rows of a chunk 12 elements wide) are copied inline, not by memcpy calls.
void copy_rows(std::byte* dst, uint64_t dst_pitch, const std::byte* src, uint64_t src_pitch, uint64_t rows,
               uint64_t row_bytes);

/// Covers a box of `rows` x `cols` in pieces: piece(r, c, max_rows, max_cols) handles a piece at
/// box offset (r, c) of at most max_rows x max_cols and returns the {rows, cols} it covered (at
/// least 1 x 1). Column strips narrow to the pieces met, so every element is covered (twice where
/// the pieces of one strip differ in width, which a regular chunk grid never does).
template <class Piece>
void walk_box(uint64_t rows, uint64_t cols, Piece&& piece)
{
    for (uint64_t c = 0, strip = 0; c < cols; c += strip) {
        strip = cols - c;
        for (uint64_t r = 0; r < rows;) {
            const auto [h, w] = piece(r, c, rows - r, strip);
            strip = w < strip ? w : strip;
            r += h;
        }
    }
}

/// The innermost tensor reached through passthrough_of() (only while info stays the same);
/// `t` itself when it wraps nothing.
inline const TensorData& stored_source(const TensorData& t)
{
    const TensorData* at = &t;
    while (const TensorData* inner = at->passthrough_of()) {
        if (inner->info() != at->info())
            break;
        at = inner;
    }
    return *at;
}

using TensorPtr = std::shared_ptr<const TensorData>;

/// A tensor that lives in memory (small generated tensors, tests).
class MemoryTensor final : public TensorData {
public:
    MemoryTensor(TensorInfo info, std::vector<std::byte> bytes);
    const TensorInfo& info() const override { return m_info; }
    const std::byte* data() const override { return m_bytes.data(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override;

private:
    TensorInfo m_info;
    std::vector<std::byte> m_bytes;
};

/// A tensor whose bytes are a span of memory kept alive by `owner` (a mapped file).
class SpanTensor final : public TensorData {
public:
    SpanTensor(TensorInfo info, const std::byte* bytes, std::shared_ptr<const void> owner);
    const TensorInfo& info() const override { return m_info; }
    const std::byte* data() const override { return m_bytes; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override;

private:
    TensorInfo m_info;
    const std::byte* m_bytes;
    std::shared_ptr<const void> m_owner;
};

/// A named tensor, as in a flat state dict. Two entries holding the same TensorPtr are tied
/// (one storage, two names).
struct NamedTensor {
    std::string name;
    TensorPtr tensor;
};

/// Reads a whole tensor into memory (use only for small tensors or when a rearrangement needs
/// all of it).
std::vector<std::byte> read_all(const TensorData& t);

/// True when both tensors have the same dtype, shape and bytes. Streams in bounded chunks.
bool equal_bytes(const TensorData& a, const TensorData& b);

} // namespace ckpt
