// SPDX-License-Identifier: Apache-2.0
// Lz4ChunkWriter: LZ4 `.mdl` datasets compressed on every core and stored chunk by chunk.
//
// Why the file stays what the filter path writes: HDF5 stores a filtered chunk by compressing it,
// allocating its file space and inserting it into the chunk index, in that order, one chunk at a
// time. H5Dwrite_chunk does the same allocation and insertion for bytes compressed elsewhere, so
// compressing with the filter's own framing and storing chunks in the order the filter path
// completes them gives the same file. Edge chunks are stored full size, padded with the fill
// value (0), exactly as HDF5 pads them before filtering.
#include "formats/mdl/lz4_chunk_io.hpp"

#include "core/error.hpp"
#include "formats/mdl/lz4_chunk_grid.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ckpt::detail {

namespace {

// Raw chunk bytes per batch, and batches in flight (compressing while the next is gathered
// and the oldest stored), each holding raw and compressed copies: about 12 MiB at most. Three
// keep both cores busy when gathering is slow (a source read from LZ4 chunks itself).
constexpr uint64_t kBatchBytes = 2u << 20;
constexpr size_t kInFlight = 3;
// Rows of one chunk row read from an unmapped source at once (as the filter path does).
constexpr uint64_t kMaxSlabBytes = 64u << 20;
// A chunk row that a pool task reads at once from a concurrently readable source; each pool
// thread keeps a buffer this large. Larger rows are read run by run.
constexpr uint64_t kMaxTaskRowsBytes = 8u << 20;

// A buffer that grows without writing zeros: std::vector::resize zero-fills what it adds every
// time a reused buffer grows back to a larger tensor's size (3 % of writing LZ4).
class RawBuffer {
public:
    unsigned char* reserve(size_t n)
    {
        if (m_size < n) {
            m_bytes.reset(); // never hold both
            m_size = 0;
            m_bytes.reset(new unsigned char[n]);
            m_size = n;
        }
        return m_bytes.get();
    }
    unsigned char* data() const { return m_bytes.get(); }
    size_t capacity() const { return m_size; }
    void release()
    {
        m_bytes.reset();
        m_size = 0;
    }

private:
    std::unique_ptr<unsigned char[]> m_bytes;
    size_t m_size = 0;
};

struct Slot {
    uint64_t index = 0;
    RawBuffer raw, packed; // raw: the chunk after kLz4RawFrameHeader free bytes
    size_t packed_size = 0;
    bool in_place = false; // the framed chunk is `raw` (stored raw), not `packed`
};

struct WriteBatch {
    std::vector<Slot> slots;
    size_t n = 0;
    std::shared_ptr<WorkerPool::Batch> job;
};

} // namespace

// The buffers of the batches in flight, kept from one tensor to the next: fresh buffers for every
// tensor cost a page fault per 4 KiB, about 1.5 % of the bytes written again.
struct Lz4ChunkWriter::Buffers {
    std::array<WriteBatch, kInFlight> batches;
};

namespace {

// One tensor written into one dataset: the chunk grid, where the bytes come from, and the steps
// of the pipeline (gather → compress on the pool → store in chunk order) as member functions.
class ChunkWrite {
public:
    ChunkWrite(hid_t dset, const TensorData& t, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk,
               size_t elem_size, const std::string& what)
        : m_dset(dset), m_t(t), m_dims(dims), m_chunk(chunk), m_what(what), m_rank(dims.size()), m_es(elem_size),
          m_source(stored_source(t))
    {
        m_grid.resize(m_rank);
        uint64_t chunk_elems = 1;
        for (size_t k = 0; k < m_rank; ++k) {
            m_grid[k] = (dims[k] + chunk[k] - 1) / chunk[k];
            m_count *= m_grid[k];
            chunk_elems *= chunk[k];
        }
        m_chunk_bytes = chunk_elems * m_es;
        m_bound = lz4_chunk_bound(m_chunk_bytes);
        if (m_bound == 0)
            throw_input("{}: a chunk of {} bytes is larger than HDF5 allows", what, m_chunk_bytes);
        m_src_stride = c_strides(dims);
        m_chunk_stride = c_strides(chunk);
        m_zero.assign(m_rank, 0);
        m_row_bytes = m_src_stride[0] * m_es;
        m_mapped = t.data();
        // A source computed from a mapping (a transpose, a row permutation) is read on the pool
        // too, beneath wrappers that only count its bytes (they are told at the end).
        m_concurrent = !m_mapped && m_source.concurrent_reads();
        // Unmapped sources are read one chunk row (chunk[0] rows of the tensor) at a time: on
        // this thread, or a whole chunk row per pool task when the source can be read concurrently.
        m_use_slab = !m_mapped && !m_concurrent && chunk[0] * m_row_bytes <= kMaxSlabBytes;
        // A matrix is read chunk by chunk as boxes (a transpose writes straight into the chunk);
        // other ranks a chunk row per task.
        m_box_tasks = m_concurrent && m_rank == 2;
        m_row_tasks = m_concurrent && !m_box_tasks && chunk[0] * m_row_bytes <= kMaxTaskRowsBytes;
        m_per_row = m_count / m_grid[0];
    }

    // Gathers, compresses and stores every chunk, with the batches of `buffers`.
    void run(std::array<WriteBatch, kInFlight>& batches)
    {
        try {
            // Batches are gathered and stored in chunk order, and compressed meanwhile.
            for (size_t i = 0; i + 1 < kInFlight; ++i)
                fill(batches[i]);
            for (size_t cur = 0; batches[cur].n != 0; cur = (cur + 1) % kInFlight) {
                fill(batches[(cur + kInFlight - 1) % kInFlight]);
                store(batches[cur]);
            }
        } catch (...) {
            // Tasks still running refer to these batches: let them finish before unwinding.
            for (auto& b : batches)
                if (b.job) {
                    try {
                        m_pool.wait(*b.job);
                    } catch (...) {
                    }
                    b.job.reset();
                }
            trim(batches);
            throw;
        }
        trim(batches);
        if (m_concurrent)
            m_t.note_bytes_copied(m_t.info().nbytes());
    }

private:
    // The chunk row `r`'s rows of the tensor, read from `from` into `buf`.
    const std::byte* read_rows(const TensorData& from, uint64_t r, RawBuffer& buf) const
    {
        const uint64_t lo = r * m_chunk[0], rows = std::min<hsize_t>(m_chunk[0], m_dims[0] - lo);
        from.read(lo * m_row_bytes, reinterpret_cast<std::byte*>(buf.reserve(rows * m_row_bytes)),
                  rows * m_row_bytes);
        return reinterpret_cast<const std::byte*>(buf.data());
    }

    // Gathers chunk `linear` into `out`; `rows` holds its chunk row's rows of the tensor, or is
    // null when the runs are read from the source one by one. Runs on pool threads.
    void gather(uint64_t linear, unsigned char* out, const std::byte* rows) const
    {
        const size_t rank = m_rank;
        const uint64_t es = m_es;
        const std::vector<hsize_t> c = grid_coords(m_grid, linear);
        std::vector<hsize_t> lo(rank), hi(rank);
        bool partial = false;
        for (size_t k = 0; k < rank; ++k) {
            lo[k] = c[k] * m_chunk[k];
            hi[k] = std::min<hsize_t>(lo[k] + m_chunk[k], m_dims[k]);
            partial = partial || hi[k] - lo[k] < m_chunk[k];
        }
        if (partial) // HDF5 fills what lies outside the dataset with the fill value, 0
            std::memset(out, 0, m_chunk_bytes);
        const uint64_t rows_base = lo[0] * m_src_stride[0];
        if (m_mapped && rank == 2) // rows of a matrix, often short (h5py's chunks are 12 wide and more)
            return copy_rows(reinterpret_cast<std::byte*>(out), m_chunk[1] * es,
                             m_mapped + (lo[0] * m_dims[1] + lo[1]) * es, m_dims[1] * es, hi[0] - lo[0],
                             (hi[1] - lo[1]) * es);
        if (m_box_tasks)
            return m_source.read_box(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1], reinterpret_cast<std::byte*>(out),
                                     m_chunk[1]);
        for_each_run(lo, hi, m_zero, m_src_stride, lo, m_chunk_stride, [&](uint64_t s, uint64_t d, uint64_t n) {
            unsigned char* dst = out + d * es;
            if (m_mapped)
                std::memcpy(dst, m_mapped + s * es, n * es);
            else if (rows)
                std::memcpy(dst, rows + (s - rows_base) * es, n * es);
            else
                (m_concurrent ? m_source : m_t).read(s * es, reinterpret_cast<std::byte*>(dst), n * es);
        });
    }

    // Frames slot `i` of `b` (compressed, or raw where LZ4 does not shrink it). Runs on pool threads.
    void compress(WriteBatch& b, size_t i) const
    {
        Slot& s = b.slots[i];
        s.packed.reserve(m_bound);
        // Incompressible chunks (most of trained weights) are framed where they were gathered.
        s.packed_size = lz4_chunk_compress_framing_raw_in_place(s.raw.data(), m_chunk_bytes, s.packed.data(),
                                                                &s.in_place);
    }

    // Takes the next chunks (about kBatchBytes) into `b` and starts their compression on the pool.
    void fill(WriteBatch& b)
    {
        b.n = 0;
        b.job.reset();
        uint64_t bytes = 0;
        // Row tasks take whole chunk rows: a task reads its rows once and gathers every chunk.
        const uint64_t step = m_row_tasks ? m_per_row : 1;
        while (m_next < m_count && (b.n == 0 || bytes + step * m_chunk_bytes <= kBatchBytes)) {
            for (uint64_t k = 0; k < step; ++k) {
                if (b.slots.size() <= b.n)
                    b.slots.emplace_back();
                Slot& s = b.slots[b.n++];
                s.index = m_next++;
                s.raw.reserve(kLz4RawFrameHeader + m_chunk_bytes);
                if (!m_mapped && !m_concurrent) { // read() is for one thread at a time: gather here
                    const uint64_t r = s.index / m_per_row;
                    if (m_use_slab && m_slab_row != r) {
                        read_rows(m_t, r, m_slab);
                        m_slab_row = r;
                    }
                    gather(s.index, s.raw.data() + kLz4RawFrameHeader,
                           m_use_slab ? reinterpret_cast<const std::byte*>(m_slab.data()) : nullptr);
                }
            }
            bytes += step * m_chunk_bytes;
        }
        if (b.n == 0)
            return;
        if (m_row_tasks) {
            const uint64_t per_row = m_per_row;
            b.job = m_pool.submit(b.n / per_row, [this, &b, per_row](size_t r) {
                thread_local RawBuffer buffer; // a chunk row of the tensor, kept
                const std::byte* rows = read_rows(m_source, b.slots[r * per_row].index / per_row, buffer);
                for (size_t i = r * per_row; i < (r + 1) * per_row; ++i) {
                    gather(b.slots[i].index, b.slots[i].raw.data() + kLz4RawFrameHeader, rows);
                    compress(b, i);
                }
            });
            return;
        }
        // From a mapping, gathering is a plain copy that any thread can do (computing from one,
        // any thread's work): it goes to the pool with the compression, leaving this thread only
        // HDF5's calls and the kernel's copy.
        b.job = m_pool.submit(b.n, [this, &b, on_pool = m_mapped || m_concurrent](size_t i) {
            if (on_pool)
                gather(b.slots[i].index, b.slots[i].raw.data() + kLz4RawFrameHeader, nullptr);
            compress(b, i);
        });
    }

    // Waits for `b`'s compression and stores its chunks in order.
    void store(WriteBatch& b)
    {
        m_pool.wait(*b.job);
        b.job.reset();
        for (size_t i = 0; i < b.n; ++i) {
            const Slot& s = b.slots[i];
            const std::vector<hsize_t> c = grid_coords(m_grid, s.index);
            std::vector<hsize_t> offset(m_rank);
            for (size_t k = 0; k < m_rank; ++k)
                offset[k] = c[k] * m_chunk[k];
            // The filter is optional: where it fails HDF5 stores the chunk raw and says so in
            // the chunk's filter mask; do the same.
            const bool packed = s.packed_size != 0;
            h5_check_status(H5Dwrite_chunk(m_dset, H5P_DEFAULT, packed ? 0u : 1u, offset.data(),
                                           packed ? s.packed_size : m_chunk_bytes,
                                           packed ? (s.in_place ? s.raw.data() : s.packed.data())
                                                  : s.raw.data() + kLz4RawFrameHeader),
                            m_what);
        }
    }

    // What the batches keep for the next tensor: about one batch's worth each (a tensor of
    // small chunks must not leave every slot holding a large chunk of a later tensor).
    void trim(std::array<WriteBatch, kInFlight>& batches) const
    {
        for (auto& b : batches) {
            size_t kept = 0;
            for (Slot& s : b.slots) {
                kept += s.raw.capacity() + s.packed.capacity();
                if (kept > 2 * kBatchBytes + 2 * m_bound) {
                    s.raw.release();
                    s.packed.release();
                }
            }
        }
    }

    hid_t m_dset;
    const TensorData& m_t;
    const std::vector<hsize_t>& m_dims;
    const std::vector<hsize_t>& m_chunk;
    const std::string& m_what;
    size_t m_rank;
    uint64_t m_es;
    const TensorData& m_source;
    WorkerPool& m_pool = WorkerPool::shared();
    std::vector<hsize_t> m_grid, m_zero;
    std::vector<uint64_t> m_src_stride, m_chunk_stride;
    uint64_t m_count = 1;
    uint64_t m_chunk_bytes = 0;
    size_t m_bound = 0;
    uint64_t m_row_bytes = 0;
    const std::byte* m_mapped = nullptr;
    bool m_concurrent = false, m_use_slab = false, m_box_tasks = false, m_row_tasks = false;
    uint64_t m_per_row = 0; // chunks in one chunk row
    uint64_t m_next = 0;    // the next chunk to gather
    RawBuffer m_slab;       // a chunk row of an unmapped source, read on this thread
    uint64_t m_slab_row = ~uint64_t{0};
};

} // namespace

Lz4ChunkWriter::Lz4ChunkWriter() : m_buffers(std::make_unique<Buffers>()) {}

Lz4ChunkWriter::~Lz4ChunkWriter() = default;

void Lz4ChunkWriter::write(hid_t dset, const TensorData& t, const std::vector<hsize_t>& dims,
                           const std::vector<hsize_t>& chunk, size_t elem_size, const std::string& what)
{
    ChunkWrite(dset, t, dims, chunk, elem_size, what).run(m_buffers->batches);
}

} // namespace ckpt::detail
