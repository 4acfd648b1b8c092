// SPDX-License-Identifier: Apache-2.0
// Parallel LZ4 chunk writing and reading for `.mdl` datasets, next to HDF5's filter pipeline.
//
// Why the file stays what the filter path writes: HDF5 stores a filtered chunk by compressing it,
// allocating its file space and inserting it into the chunk index, in that order, one chunk at a
// time. H5Dwrite_chunk does the same allocation and insertion for bytes compressed elsewhere, so
// compressing with the filter's own framing and storing chunks in the order the filter path
// completes them gives the same file. Edge chunks are stored full size, padded with the fill
// value (0), exactly as HDF5 pads them before filtering.
#include "formats/mdl/lz4_chunk_io.hpp"

#include "core/error.hpp"
#include "formats/mdl/h5_copy_driver.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
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
// Decompressed chunks a reader keeps, as the HDF5 chunk cache it replaces did.
constexpr size_t kCacheBytes = size_t{32} << 20;
// Chunks decompressed per step of one read: bounds memory for reads of any size.
constexpr size_t kGroupBytes = size_t{8} << 20;
// Decompressed ahead of a sequential reader: one piece of the safetensors writer.
constexpr size_t kAheadBytes = size_t{8} << 20;
// Bytes of buffers kept for reuse: freeing and reallocating a chunk's memory costs page faults
// (and, for large chunks, munmap's cross-core TLB flushes) on every chunk.
constexpr size_t kSpareBytes = size_t{16} << 20;
// Chunks larger than this are left to HDF5 (ckptconv and h5py write at most 1 MiB), and so are
// many chunks smaller than kMinDirectChunk (h5py aims at 8 KiB or more): bookkeeping per chunk
// would then outweigh the bytes, and a hostile file could declare millions of them.
constexpr size_t kMaxDirectChunk = size_t{64} << 20;
constexpr size_t kMinDirectChunk = 1024;

std::vector<uint64_t> c_strides(const std::vector<hsize_t>& extent)
{
    std::vector<uint64_t> s(extent.size(), 1);
    for (size_t k = extent.size(); k-- > 1;)
        s[k - 1] = s[k] * extent[k];
    return s;
}

// Coordinates (in chunks) of the chunk with C-order index `linear` in `grid`.
std::vector<hsize_t> grid_coords(const std::vector<hsize_t>& grid, uint64_t linear)
{
    std::vector<hsize_t> c(grid.size());
    for (size_t k = grid.size(); k-- > 0;) {
        c[k] = linear % grid[k];
        linear /= grid[k];
    }
    return c;
}

// Where row `row` (counting rows of the last dimension) starts: the C-order grid index of its
// chunk with the last grid coordinate 0, and the element offset inside that chunk.
std::pair<uint64_t, uint64_t> row_start_in_chunks(uint64_t row, const std::vector<hsize_t>& dims,
                                                  const std::vector<hsize_t>& chunk,
                                                  const std::vector<uint64_t>& grid_stride,
                                                  const std::vector<uint64_t>& chunk_stride)
{
    uint64_t base = 0, within = 0;
    for (size_t k = dims.size() - 1; k-- > 0;) {
        const uint64_t at = row % dims[k];
        row /= dims[k];
        base += at / chunk[k] * grid_stride[k];
        within += at % chunk[k] * chunk_stride[k];
    }
    return {base, within};
}

// Calls run(src_elem, dst_elem, n) for every last-dimension run of the box [lo, hi) (absolute
// element coordinates), where src is the element's C-order index in an array of extent
// `src_extent` placed at `src_origin`, and dst likewise in `dst_extent` at `dst_origin`.
template <class Run>
void for_each_run(const std::vector<hsize_t>& lo, const std::vector<hsize_t>& hi,
                  const std::vector<hsize_t>& src_origin, const std::vector<uint64_t>& src_stride,
                  const std::vector<hsize_t>& dst_origin, const std::vector<uint64_t>& dst_stride, Run&& run)
{
    const size_t rank = lo.size();
    for (size_t k = 0; k < rank; ++k)
        if (lo[k] >= hi[k])
            return;
    const uint64_t n = hi[rank - 1] - lo[rank - 1];
    std::vector<hsize_t> p(lo);
    while (true) {
        uint64_t s = 0, d = 0;
        for (size_t k = 0; k < rank; ++k) {
            s += (p[k] - src_origin[k]) * src_stride[k];
            d += (p[k] - dst_origin[k]) * dst_stride[k];
        }
        run(s, d, n);
        size_t k = rank - 1;
        while (k-- > 0) {
            if (++p[k] < hi[k])
                break;
            p[k] = lo[k];
        }
        if (k == static_cast<size_t>(-1))
            return;
    }
}

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

bool lz4_direct_enabled()
{
    const char* v = std::getenv("CKPTCONV_MDL_LZ4_DIRECT");
    return !(v && std::strcmp(v, "0") == 0);
}

void write_lz4_chunks(hid_t dset, const TensorData& t, const std::vector<hsize_t>& dims,
                      const std::vector<hsize_t>& chunk, size_t elem_size, const std::string& what)
{
    const size_t rank = dims.size();
    const uint64_t es = elem_size;
    std::vector<hsize_t> grid(rank);
    uint64_t count = 1, chunk_elems = 1;
    for (size_t k = 0; k < rank; ++k) {
        grid[k] = (dims[k] + chunk[k] - 1) / chunk[k];
        count *= grid[k];
        chunk_elems *= chunk[k];
    }
    const uint64_t chunk_bytes = chunk_elems * es;
    const size_t bound = lz4_chunk_bound(chunk_bytes);
    if (bound == 0)
        throw_input("{}: a chunk of {} bytes is larger than HDF5 allows", what, chunk_bytes);
    const std::vector<uint64_t> src_stride = c_strides(dims), chunk_stride = c_strides(chunk);
    const std::vector<hsize_t> zero(rank, 0);
    const uint64_t row_bytes = src_stride[0] * es;
    const std::byte* mapped = t.data();
    // A source computed from a mapping (a transpose, a row permutation) is read on the pool too,
    // beneath wrappers that only count its bytes (they are told at the end).
    const TensorData& source = stored_source(t);
    const bool concurrent = !mapped && source.concurrent_reads();
    // Unmapped sources are read one chunk row (chunk[0] rows of the tensor) at a time: on this
    // thread, or a whole chunk row per pool task when the source can be read concurrently.
    const bool use_slab = !mapped && !concurrent && chunk[0] * row_bytes <= kMaxSlabBytes;
    // A matrix is read chunk by chunk as boxes (a transpose writes straight into the chunk);
    // other ranks a chunk row per task.
    const bool box_tasks = concurrent && rank == 2;
    const bool row_tasks = concurrent && !box_tasks && chunk[0] * row_bytes <= kMaxTaskRowsBytes;
    const uint64_t per_row = count / grid[0]; // chunks in one chunk row
    RawBuffer slab;
    uint64_t slab_row = ~uint64_t{0};

    // The chunk row `r`'s rows of the tensor, read from `from` into `buf`.
    auto read_rows = [&](const TensorData& from, uint64_t r, RawBuffer& buf) {
        const uint64_t lo = r * chunk[0], rows = std::min<hsize_t>(chunk[0], dims[0] - lo);
        from.read(lo * row_bytes, reinterpret_cast<std::byte*>(buf.reserve(rows * row_bytes)), rows * row_bytes);
        return reinterpret_cast<const std::byte*>(buf.data());
    };
    // Gathers chunk `linear` into `out`; `rows` holds its chunk row's rows of the tensor, or is
    // null when the runs are read from the source one by one.
    auto gather = [&](uint64_t linear, unsigned char* out, const std::byte* rows) {
        const std::vector<hsize_t> c = grid_coords(grid, linear);
        std::vector<hsize_t> lo(rank), hi(rank);
        bool partial = false;
        for (size_t k = 0; k < rank; ++k) {
            lo[k] = c[k] * chunk[k];
            hi[k] = std::min<hsize_t>(lo[k] + chunk[k], dims[k]);
            partial = partial || hi[k] - lo[k] < chunk[k];
        }
        if (partial) // HDF5 fills what lies outside the dataset with the fill value, 0
            std::memset(out, 0, chunk_bytes);
        const uint64_t rows_base = lo[0] * src_stride[0];
        if (mapped && rank == 2) // rows of a matrix, often short (h5py's chunks are 12 wide and more)
            return copy_rows(reinterpret_cast<std::byte*>(out), chunk[1] * es, mapped + (lo[0] * dims[1] + lo[1]) * es,
                             dims[1] * es, hi[0] - lo[0], (hi[1] - lo[1]) * es);
        if (box_tasks)
            return source.read_box(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1], reinterpret_cast<std::byte*>(out),
                                   chunk[1]);
        for_each_run(lo, hi, zero, src_stride, lo, chunk_stride, [&](uint64_t s, uint64_t d, uint64_t n) {
            unsigned char* dst = out + d * es;
            if (mapped)
                std::memcpy(dst, mapped + s * es, n * es);
            else if (rows)
                std::memcpy(dst, rows + (s - rows_base) * es, n * es);
            else
                (concurrent ? source : t).read(s * es, reinterpret_cast<std::byte*>(dst), n * es);
        });
    };

    WorkerPool& pool = WorkerPool::shared();
    // Kept from one tensor to the next (callers hold h5_mutex, so one call runs at a time): fresh
    // buffers for every tensor cost a page fault per 4 KiB, about 1.5 % of the bytes written again.
    static std::array<WriteBatch, kInFlight> batches;
    uint64_t next = 0;
    auto fill = [&](WriteBatch& b) {
        b.n = 0;
        b.job.reset();
        uint64_t bytes = 0;
        // Row tasks take whole chunk rows: a task reads its rows once and gathers every chunk.
        const uint64_t step = row_tasks ? per_row : 1;
        while (next < count && (b.n == 0 || bytes + step * chunk_bytes <= kBatchBytes)) {
            for (uint64_t k = 0; k < step; ++k) {
                if (b.slots.size() <= b.n)
                    b.slots.emplace_back();
                Slot& s = b.slots[b.n++];
                s.index = next++;
                s.raw.reserve(kLz4RawFrameHeader + chunk_bytes);
                if (!mapped && !concurrent) { // read() is for one thread at a time: gather here
                    const uint64_t r = s.index / per_row;
                    if (use_slab && slab_row != r) {
                        read_rows(t, r, slab);
                        slab_row = r;
                    }
                    gather(s.index, s.raw.data() + kLz4RawFrameHeader,
                           use_slab ? reinterpret_cast<const std::byte*>(slab.data()) : nullptr);
                }
            }
            bytes += step * chunk_bytes;
        }
        if (b.n == 0)
            return;
        auto compress = [&b, bound, chunk_bytes](size_t i) {
            Slot& s = b.slots[i];
            s.packed.reserve(bound);
            // Incompressible chunks (most of trained weights) are framed where they were gathered.
            s.packed_size =
                lz4_chunk_compress_framing_raw_in_place(s.raw.data(), chunk_bytes, s.packed.data(), &s.in_place);
        };
        if (row_tasks) {
            b.job = pool.submit(b.n / per_row, [&b, &read_rows, &gather, &source, compress, per_row](size_t r) {
                thread_local RawBuffer buffer; // a chunk row of the tensor, kept
                const std::byte* rows = read_rows(source, b.slots[r * per_row].index / per_row, buffer);
                for (size_t i = r * per_row; i < (r + 1) * per_row; ++i) {
                    gather(b.slots[i].index, b.slots[i].raw.data() + kLz4RawFrameHeader, rows);
                    compress(i);
                }
            });
            return;
        }
        // From a mapping, gathering is a plain copy that any thread can do (computing from one,
        // any thread's work): it goes to the pool with the compression, leaving this thread only
        // HDF5's calls and the kernel's copy.
        b.job = pool.submit(b.n, [&b, &gather, compress, on_pool = mapped || concurrent](size_t i) {
            if (on_pool)
                gather(b.slots[i].index, b.slots[i].raw.data() + kLz4RawFrameHeader, nullptr);
            compress(i);
        });
    };
    auto store = [&](WriteBatch& b) {
        pool.wait(*b.job);
        b.job.reset();
        for (size_t i = 0; i < b.n; ++i) {
            const Slot& s = b.slots[i];
            const std::vector<hsize_t> c = grid_coords(grid, s.index);
            std::vector<hsize_t> offset(rank);
            for (size_t k = 0; k < rank; ++k)
                offset[k] = c[k] * chunk[k];
            // The filter is optional: where it fails HDF5 stores the chunk raw and says so in
            // the chunk's filter mask; do the same.
            const bool packed = s.packed_size != 0;
            h5_check_status(H5Dwrite_chunk(dset, H5P_DEFAULT, packed ? 0u : 1u, offset.data(),
                                           packed ? s.packed_size : chunk_bytes,
                                           packed ? (s.in_place ? s.raw.data() : s.packed.data())
                                                  : s.raw.data() + kLz4RawFrameHeader),
                            what);
        }
    };

    // What the batches keep for the next tensor: about one batch's worth each (a tensor of
    // small chunks must not leave every slot holding a large chunk of a later tensor).
    auto trim = [&] {
        for (auto& b : batches) {
            size_t kept = 0;
            for (Slot& s : b.slots) {
                kept += s.raw.capacity() + s.packed.capacity();
                if (kept > 2 * kBatchBytes + 2 * bound) {
                    s.raw.release();
                    s.packed.release();
                }
            }
        }
    };
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
                    pool.wait(*b.job);
                } catch (...) {
                }
                b.job.reset();
            }
        trim();
        throw;
    }
    trim();
    if (concurrent)
        t.note_bytes_copied(t.info().nbytes());
}

namespace {

// Big-endian field of the filter's chunk header.
uint64_t be_field(const unsigned char* p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
        v = v << 8 | p[i];
    return v;
}

// Whether `dset` is chunked with `chunk`, filtered by exactly LZ4 at its default block size (the
// block size is the only option, and decides the stored bytes), and stores `file_type`.
bool stored_as_writer_does(hid_t dset, const std::vector<hsize_t>& chunk, hid_t file_type)
{
    H5Id dcpl(H5Dget_create_plist(dset));
    if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) != 1)
        return false;
    unsigned flags = 0, config = 0, cd[4] = {0, 0, 0, 0};
    size_t ncd = 4;
    if (H5Pget_filter2(dcpl.get(), 0, &flags, &ncd, cd, 0, nullptr, &config) != kLz4FilterId)
        return false;
    if (ncd > 0 && cd[0] != 0)
        return false;
    std::vector<hsize_t> have(H5S_MAX_RANK);
    const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, have.data());
    if (rank < 0)
        return false;
    have.resize(static_cast<size_t>(rank));
    if (have != chunk)
        return false;
    H5Id type(H5Dget_type(dset));
    return type.valid() && H5Tequal(type.get(), file_type) > 0;
}

} // namespace

const unsigned char* StoredBytes::at(uint64_t offset, uint64_t n) const
{
    if (!data || offset > size || n > size - offset)
        return nullptr;
    return reinterpret_cast<const unsigned char*>(data + offset);
}

namespace {

struct StoredChunk {
    uint32_t mask = 0;
    const unsigned char* bytes = nullptr;
    size_t size = 0;
};

// Finds the stored chunk at `origin`: false when it is not allocated or HDF5 cannot say (the
// caller reads through HDF5 or reports; HDF5's error stack is left as it is). Its bytes come from
// the mapping where `mapped` has one; the first chunk found that way is also read by HDF5 into
// `copy` and compared, and a mapping that disagrees is dropped for good. Otherwise HDF5 copies
// the chunk into `copy`. A chunk larger than `max_size` is returned with its size and no bytes.
bool find_stored_chunk(hid_t dset, const hsize_t* origin, StoredBytes& mapped, bool& checked, size_t max_size,
                       std::vector<unsigned char>& copy, StoredChunk& out)
{
    const unsigned char* at = nullptr;
    ChunkPlace place;
    if (mapped.data && h5_locate_chunk(dset, origin, place, max_size)) {
        out = {place.filter_mask, nullptr, static_cast<size_t>(place.size)};
        if (place.size > max_size)
            return true;
        at = mapped.at(place.offset, place.size);
        if (at && checked) {
            out.bytes = at;
            return true;
        }
    } else {
        hsize_t size = 0;
        if (H5Dget_chunk_storage_size(dset, origin, &size) < 0 || size == 0)
            return false;
        out = {0, nullptr, static_cast<size_t>(size)};
        if (size > max_size)
            return true;
    }
    copy.resize(out.size);
    uint32_t read_mask = 0;
    if (H5Dread_chunk(dset, H5P_DEFAULT, origin, &read_mask, copy.data()) < 0)
        return false;
    const bool disagrees = at && (read_mask != out.mask || std::memcmp(at, copy.data(), out.size) != 0);
    out.mask = read_mask;
    out.bytes = copy.data();
    if (at) {
        checked = true;
        if (disagrees)
            mapped = {};
        else
            out.bytes = at; // the same bytes, where they lie
    }
    return true;
}

} // namespace

bool copy_lz4_chunks(hid_t src, hid_t dst, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk,
                     hid_t file_type, const StoredBytes& mapped, const std::string& src_file,
                     const std::string& src_name, const std::string& what)
{
    const size_t rank = dims.size();
    if (!lz4_direct_enabled() || rank == 0 || chunk.size() != rank)
        return false;
    const bool same = stored_as_writer_does(src, chunk, file_type);
    H5Id space(H5Dget_space(src));
    std::vector<hsize_t> have(rank + 1);
    const bool same_dims = space.valid() && H5Sget_simple_extent_ndims(space.get()) == static_cast<int>(rank) &&
                           H5Sget_simple_extent_dims(space.get(), have.data(), nullptr) == static_cast<int>(rank) &&
                           std::equal(dims.begin(), dims.end(), have.begin());
    std::vector<hsize_t> grid(rank);
    uint64_t count = 1;
    for (size_t k = 0; k < rank; ++k) {
        grid[k] = (dims[k] + chunk[k] - 1) / chunk[k];
        count *= grid[k];
    }
    // Unallocated chunks read as the fill value; the normal path stores them compressed.
    hsize_t allocated = 0;
    if (!same || !same_dims || H5Dget_num_chunks(src, space.get(), &allocated) < 0 || allocated != count) {
        H5Eclear2(H5E_DEFAULT);
        return false;
    }
    const size_t es = H5Tget_size(file_type);
    uint64_t chunk_bytes = es;
    for (hsize_t c : chunk)
        chunk_bytes *= c;
    const size_t bound = lz4_chunk_bound(chunk_bytes);
    if (bound == 0 || chunk_bytes > kMaxDirectChunk)
        return false;
    StoredBytes from = mapped;
    bool checked = false;
    std::vector<unsigned char> buf;
    std::vector<hsize_t> origin(rank);
    for (uint64_t linear = 0; linear < count; ++linear) {
        const std::vector<hsize_t> c = grid_coords(grid, linear);
        for (size_t k = 0; k < rank; ++k)
            origin[k] = c[k] * chunk[k];
        StoredChunk sc;
        if (!find_stored_chunk(src, origin.data(), from, checked, bound, buf, sc))
            throw_input("{}: cannot read dataset '{}': {}", src_file, src_name, h5_error_text());
        if (!sc.bytes)
            throw_input("{}: dataset '{}': the chunk at element {} holds {} bytes, which no LZ4 chunk of {} bytes "
                        "can; the file is corrupt",
                        src_file, src_name, fmt::join(origin, ","), sc.size, chunk_bytes);
        // The payload is copied undecoded. The first chunk's header is checked, which catches a
        // dataset whose chunks belong to another shape or type; reading every header would fault
        // in a page of the mapping per chunk (10 % of a rename-only conversion) where the bytes
        // are otherwise copied inside the kernel. Sizes are checked for every chunk.
        const bool ok = sc.mask == 0 ? sc.size >= 16 && (linear != 0 || (be_field(sc.bytes, 8) == chunk_bytes &&
                                                                         be_field(sc.bytes + 8, 4) ==
                                                                             std::min<uint64_t>(chunk_bytes, 1u << 30)))
                                     : sc.mask == 1 && sc.size == chunk_bytes;
        if (!ok)
            throw_input("{}: dataset '{}': the LZ4 chunk at element {} is malformed (its header does not describe "
                        "a chunk of {} bytes); the file is corrupt",
                        src_file, src_name, fmt::join(origin, ","), chunk_bytes);
        h5_check_status(H5Dwrite_chunk(dst, H5P_DEFAULT, sc.mask, origin.data(), sc.size, sc.bytes), what);
    }
    return true;
}

namespace {
// Bytes of chunks all MappedChunks have decoded; bounded by kMappedChunksDecodedBytes.
std::atomic<uint64_t> g_decoded_bytes{0};

bool reserve_decoded(uint64_t n)
{
    uint64_t have = g_decoded_bytes.load();
    do {
        if (have + n > MappedChunks::kMappedChunksDecodedBytes)
            return false;
    } while (!g_decoded_bytes.compare_exchange_weak(have, have + n));
    return true;
}
} // namespace

std::unique_ptr<MappedChunks> MappedChunks::open(hid_t dset, hid_t file_type, hid_t mem_type,
                                                 const std::vector<int64_t>& shape, const StoredBytes& mapped)
{
    if (!lz4_direct_enabled() || shape.empty() || !mapped.data || H5Tequal(file_type, mem_type) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr;
    }
    H5Id dcpl(H5Dget_create_plist(dset));
    unsigned flags = 0, config = 0;
    size_t nvalues = 0;
    std::vector<hsize_t> chunk(H5S_MAX_RANK);
    if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) != 1 ||
        H5Pget_filter2(dcpl.get(), 0, &flags, &nvalues, nullptr, 0, nullptr, &config) != kLz4FilterId ||
        H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, chunk.data()) != static_cast<int>(shape.size())) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr;
    }
    chunk.resize(shape.size());
    std::unique_ptr<MappedChunks> m(new MappedChunks());
    m->m_es = H5Tget_size(mem_type);
    uint64_t chunk_bytes = m->m_es, count = 1;
    m->m_dims.assign(shape.begin(), shape.end());
    m->m_grid.resize(shape.size());
    for (size_t k = 0; k < shape.size(); ++k) {
        if (chunk[k] == 0 || chunk_bytes * chunk[k] > kMaxDirectChunk)
            return nullptr;
        chunk_bytes *= chunk[k];
        m->m_grid[k] = (m->m_dims[k] + chunk[k] - 1) / chunk[k];
        count *= m->m_grid[k];
    }
    // Per-chunk bookkeeping must stay small next to the bytes (a hostile file can declare
    // millions of tiny chunks).
    if (count == 0 || (chunk_bytes < kMinDirectChunk && count > 1))
        return nullptr;
    m->m_chunk = std::move(chunk);
    m->m_chunk_stride = c_strides(m->m_chunk);
    m->m_grid_stride = c_strides(m->m_grid);
    m->m_plain.resize(count);
    StoredBytes from = mapped;
    bool checked = false;
    std::vector<unsigned char> copy;
    const size_t bound = lz4_chunk_bound(chunk_bytes);
    for (uint64_t linear = 0; linear < count; ++linear) {
        std::vector<hsize_t> origin = grid_coords(m->m_grid, linear);
        for (size_t k = 0; k < origin.size(); ++k)
            origin[k] *= m->m_chunk[k];
        StoredChunk sc;
        const bool found = find_stored_chunk(dset, origin.data(), from, checked, bound, copy, sc);
        // Only chunks that lie in the mapping: anything else is the reader's to handle.
        if (!found || !from.data || sc.mask != 0 || !sc.bytes || sc.bytes == copy.data()) {
            H5Eclear2(H5E_DEFAULT);
            return nullptr;
        }
        const unsigned char* raw = lz4_chunk_raw_payload(sc.bytes, sc.size, chunk_bytes);
        if (!raw) { // LZ4 shrank this one: decode it now if the budget allows
            if (!reserve_decoded(chunk_bytes))
                return nullptr;
            m->m_decoded_bytes += chunk_bytes;
            m->m_decoded.emplace_back(new std::byte[chunk_bytes]);
            if (!lz4_chunk_decompress(sc.bytes, sc.size, reinterpret_cast<unsigned char*>(m->m_decoded.back().get()),
                                      chunk_bytes)
                     .empty())
                return nullptr;
            m->m_plain[linear] = m->m_decoded.back().get();
            continue;
        }
        m->m_plain[linear] = reinterpret_cast<const std::byte*>(raw);
    }
    return m;
}

MappedChunks::~MappedChunks()
{
    g_decoded_bytes -= m_decoded_bytes;
}

void MappedChunks::read(uint64_t first, uint64_t last, std::byte* dst) const
{
    const size_t rank = m_dims.size();
    const uint64_t row_len = m_dims[rank - 1], cw = m_chunk[rank - 1];
    for (uint64_t pos = first; pos < last;) {
        const uint64_t col0 = pos % row_len, col1 = std::min(row_len, col0 + (last - pos));
        const auto [base, within] =
            row_start_in_chunks(pos / row_len, m_dims, m_chunk, m_grid_stride, m_chunk_stride);
        for (uint64_t c = col0 / cw; c * cw < col1; ++c) {
            const uint64_t lo = std::max(col0, c * cw), hi = std::min(col1, (c + 1) * cw);
            std::memcpy(dst, m_plain[base + c] + (within + lo - c * cw) * m_es, (hi - lo) * m_es);
            dst += (hi - lo) * m_es;
        }
        pos += col1 - col0;
    }
}

BoxView MappedChunks::view(uint64_t row, uint64_t col) const
{
    const size_t rank = m_dims.size();
    const uint64_t row_len = m_dims[rank - 1], cw = m_chunk[rank - 1];
    const auto [base, within] = row_start_in_chunks(row, m_dims, m_chunk, m_grid_stride, m_chunk_stride);
    const uint64_t c = col / cw;
    uint64_t rows = 1;
    if (rank >= 2) { // down to the chunk's or the dimension's end, whichever comes first
        const uint64_t at = row % m_dims[rank - 2], ch = m_chunk[rank - 2];
        rows = std::min<uint64_t>(ch - at % ch, m_dims[rank - 2] - at);
    }
    return {m_plain[base + c] + (within + col - c * cw) * m_es, cw, rows, std::min<uint64_t>((c + 1) * cw, row_len) - col};
}

std::unique_ptr<Lz4ChunkReader> Lz4ChunkReader::open(hid_t dset, hid_t file_type, hid_t mem_type,
                                                     const std::vector<int64_t>& shape, const StoredBytes& mapped,
                                                     std::string file, std::string dataset)
{
    if (!lz4_direct_enabled() || shape.empty())
        return nullptr;
    if (H5Tequal(file_type, mem_type) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr; // HDF5 converts (byte order, float layout): leave it to HDF5
    }
    H5Id dcpl(H5Dget_create_plist(dset));
    if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) != 1) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr;
    }
    unsigned flags = 0, config = 0;
    size_t nvalues = 0;
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), 0, &flags, &nvalues, nullptr, 0, nullptr, &config);
    if (id != kLz4FilterId) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr;
    }
    std::vector<hsize_t> chunk(H5S_MAX_RANK);
    const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, chunk.data());
    if (rank != static_cast<int>(shape.size())) {
        H5Eclear2(H5E_DEFAULT);
        return nullptr;
    }
    chunk.resize(static_cast<size_t>(rank));
    const size_t es = H5Tget_size(mem_type);
    uint64_t bytes = es;
    for (hsize_t c : chunk) {
        if (c == 0 || c > kMaxDirectChunk || bytes * c > kMaxDirectChunk)
            return nullptr;
        bytes *= c;
    }
    uint64_t chunks = 1;
    for (size_t k = 0; k < chunk.size(); ++k)
        chunks *= (static_cast<uint64_t>(shape[k]) + chunk[k] - 1) / chunk[k];
    if (bytes < kMinDirectChunk && chunks > 1)
        return nullptr;
    std::unique_ptr<Lz4ChunkReader> r(new Lz4ChunkReader());
    r->m_dset = dset;
    r->m_mapped = mapped;
    r->m_file = std::move(file);
    r->m_dataset = std::move(dataset);
    r->m_dims.assign(shape.begin(), shape.end());
    r->m_chunk = std::move(chunk);
    r->m_grid.resize(r->m_dims.size());
    r->m_chunks = 1;
    for (size_t k = 0; k < r->m_dims.size(); ++k) {
        r->m_grid[k] = (r->m_dims[k] + r->m_chunk[k] - 1) / r->m_chunk[k];
        r->m_chunks *= r->m_grid[k];
    }
    r->m_chunk_stride = c_strides(r->m_chunk);
    r->m_grid_stride = c_strides(r->m_grid);
    r->m_es = es;
    r->m_chunk_bytes = bytes;
    r->m_max_spare = std::max<size_t>(2, kSpareBytes / bytes);
    return r;
}

Lz4ChunkReader::~Lz4ChunkReader()
{
    if (m_ahead && m_ahead->job) {
        try {
            WorkerPool::shared().wait(*m_ahead->job);
        } catch (...) { // only allocation can fail in a task; nothing is left to report it to
        }
    }
}

std::vector<hsize_t> Lz4ChunkReader::chunk_origin(uint64_t linear) const
{
    std::vector<hsize_t> c = grid_coords(m_grid, linear);
    for (size_t k = 0; k < c.size(); ++k)
        c[k] *= m_chunk[k];
    return c;
}

bool Lz4ChunkReader::fetch(Pending& p, const std::vector<uint64_t>& index, bool strict)
{
    // HDF5 calls stay on this thread; only decompression goes to the pool.
    const size_t bound = lz4_chunk_bound(m_chunk_bytes);
    for (uint64_t linear : index) {
        const std::vector<hsize_t> origin = chunk_origin(linear);
        std::vector<unsigned char> packed;
        if (!m_spare_packed.empty()) {
            packed = std::move(m_spare_packed.back());
            m_spare_packed.pop_back();
        }
        StoredChunk sc;
        if (!find_stored_chunk(m_dset, origin.data(), m_mapped, m_mapped_checked, bound, packed, sc)) {
            // Not allocated (HDF5 supplies the fill value) or unreadable: HDF5 reads or reports it.
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        if (!sc.bytes) {
            if (!strict)
                return false;
            throw_input("{}: dataset '{}': the chunk at element {} holds {} bytes, more than LZ4 can make of "
                        "a {}-byte chunk; the file is corrupt",
                        m_file, m_dataset, fmt::join(origin, ","), sc.size, m_chunk_bytes);
        }
        if (sc.mask != 0)
            return false; // stored without the filter
        const bool copied = sc.bytes == packed.data();
        p.index.push_back(linear);
        p.stored.push_back(sc.bytes);
        p.stored_size.push_back(sc.size);
        // A raw chunk in the mapping is used where it lies; any other is decoded on the pool.
        p.raw.push_back(copied ? nullptr
                               : reinterpret_cast<const std::byte*>(
                                     lz4_chunk_raw_payload(sc.bytes, sc.size, m_chunk_bytes)));
        if (copied)
            p.packed.push_back(std::move(packed));
        else if (packed.capacity() != 0)
            m_spare_packed.push_back(std::move(packed));
    }
    return true;
}

void Lz4ChunkReader::start(Pending& p)
{
    p.plain.resize(p.index.size());
    p.error.resize(p.index.size());
    std::vector<size_t> decode; // which chunks need decoding
    for (size_t i = 0; i < p.index.size(); ++i) {
        if (p.raw[i])
            continue;
        decode.push_back(i);
        if (m_spare.empty()) {
            p.plain[i].reset(new std::byte[m_chunk_bytes]); // not zeroed: every byte is decoded into
        } else {
            p.plain[i] = std::move(m_spare.back());
            m_spare.pop_back();
        }
    }
    if (decode.empty())
        return;
    const size_t count = decode.size(); // not in the call: the lambda below may be built first
    p.job = WorkerPool::shared().submit(count, [&p, decode = std::move(decode), n = m_chunk_bytes](size_t k) {
        const size_t i = decode[k];
        p.error[i] = lz4_chunk_decompress(p.stored[i], p.stored_size[i],
                                          reinterpret_cast<unsigned char*>(p.plain[i].get()), n);
    });
}

size_t Lz4ChunkReader::finish(Pending& p)
{
    if (p.job) {
        WorkerPool::shared().wait(*p.job);
        p.job.reset();
    }
    for (auto& v : p.packed)
        if (m_spare_packed.size() < std::max<size_t>(2, m_max_spare / 4))
            m_spare_packed.push_back(std::move(v));
    size_t bad = p.index.size();
    for (size_t i = 0; i < p.index.size(); ++i) {
        if (!p.error[i].empty()) {
            bad = std::min(bad, i);
            continue;
        }
        if (m_cache.count(p.index[i]))
            continue;
        m_lru.push_front(p.index[i]);
        const std::byte* data = p.raw[i] ? p.raw[i] : p.plain[i].get();
        m_cache[p.index[i]] = Cached{std::move(p.plain[i]), data, m_lru.begin()};
        m_cached_bytes += m_chunk_bytes;
    }
    return bad;
}

bool Lz4ChunkReader::load(const std::vector<uint64_t>& missing)
{
    Pending p;
    if (!fetch(p, missing, true))
        return false;
    start(p);
    const size_t bad = finish(p);
    if (bad < p.index.size())
        throw_input("{}: dataset '{}': the LZ4 chunk at element {} is corrupt: {}", m_file, m_dataset,
                    fmt::join(chunk_origin(p.index[bad]), ","), p.error[bad]);
    return true;
}

void Lz4ChunkReader::collect_ahead()
{
    if (!m_ahead)
        return;
    std::unique_ptr<Pending> p = std::move(m_ahead);
    try {
        finish(*p); // a corrupt chunk is reported if and when a read needs it
    } catch (...) {
    }
}

void Lz4ChunkReader::evict_to(size_t budget)
{
    while (m_cached_bytes > budget && !m_lru.empty()) {
        const auto it = m_cache.find(m_lru.back());
        m_cached_bytes -= m_chunk_bytes;
        // Spare buffers count against the cache's budget: they are kept only to be refilled.
        if (it->second.bytes && m_spare.size() < m_max_spare &&
            m_cached_bytes + (m_spare.size() + 1) * m_chunk_bytes <= kCacheBytes)
            m_spare.push_back(std::move(it->second.bytes));
        m_cache.erase(it);
        m_lru.pop_back();
    }
}

bool Lz4ChunkReader::read_cached_row(uint64_t first, uint64_t last, std::byte* dst)
{
    // A transposing reader asks for a piece of one row at a time, tens of thousands of times per
    // tensor, nearly always from cached chunks: this path allocates nothing.
    const size_t rank = m_dims.size();
    const uint64_t row_len = m_dims[rank - 1];
    const uint64_t col0 = first % row_len;
    if (last - first > row_len - col0)
        return false; // crosses a row
    const auto [base, within] = row_start_in_chunks(first / row_len, m_dims, m_chunk, m_grid_stride, m_chunk_stride);
    const uint64_t cw = m_chunk[rank - 1];
    const uint64_t col1 = col0 + (last - first);
    for (uint64_t c = col0 / cw; c * cw < col1; ++c)
        if (!m_cache.count(base + c))
            return false;
    for (uint64_t c = col0 / cw; c * cw < col1; ++c) {
        Cached& ch = m_cache.find(base + c)->second;
        m_lru.splice(m_lru.begin(), m_lru, ch.lru);
        const uint64_t lo = std::max(col0, c * cw), hi = std::min(col1, (c + 1) * cw);
        std::memcpy(dst + (lo - col0) * m_es, ch.data + (within + lo - c * cw) * m_es, (hi - lo) * m_es);
    }
    m_last_end = last;
    return true;
}

bool Lz4ChunkReader::read(uint64_t first, uint64_t last, std::byte* dst)
{
    collect_ahead();
    if (read_cached_row(first, last, dst))
        return true;
    const size_t rank = m_dims.size();
    const std::vector<int64_t> shape(m_dims.begin(), m_dims.end());
    const std::vector<H5Box> boxes = flat_range_boxes(shape, first, last);
    // Each box lands right after the previous one in dst; the chunks it touches form a box of
    // the chunk grid.
    std::vector<uint64_t> box_dst(boxes.size());
    std::vector<uint64_t> needed;
    const std::vector<uint64_t> grid_stride = c_strides(m_grid);
    uint64_t at = 0;
    for (size_t b = 0; b < boxes.size(); ++b) {
        box_dst[b] = at;
        uint64_t elems = 1;
        std::vector<hsize_t> lo(rank), hi(rank);
        for (size_t k = 0; k < rank; ++k) {
            elems *= boxes[b].count[k];
            lo[k] = boxes[b].start[k] / m_chunk[k];
            hi[k] = (boxes[b].start[k] + boxes[b].count[k] - 1) / m_chunk[k] + 1;
        }
        at += elems;
        for_each_run(lo, hi, std::vector<hsize_t>(rank, 0), grid_stride, lo, grid_stride,
                     [&](uint64_t s, uint64_t, uint64_t n) {
                         for (uint64_t i = 0; i < n; ++i)
                             needed.push_back(s + i);
                     });
    }
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());

    const std::vector<uint64_t> chunk_stride = c_strides(m_chunk);
    const size_t per_group = std::max<size_t>(1, kGroupBytes / m_chunk_bytes);
    for (size_t g = 0; g < needed.size(); g += per_group) {
        const size_t g_end = std::min(needed.size(), g + per_group);
        std::vector<uint64_t> missing;
        for (size_t i = g; i < g_end; ++i) {
            const auto it = m_cache.find(needed[i]);
            if (it == m_cache.end())
                missing.push_back(needed[i]);
            else // most recent, so making room for the missing ones keeps it
                m_lru.splice(m_lru.begin(), m_lru, it->second.lru);
        }
        if (!missing.empty()) {
            evict_to(kCacheBytes > missing.size() * m_chunk_bytes ? kCacheBytes - missing.size() * m_chunk_bytes
                                                                   : 0);
            if (!load(missing))
                return false;
        }
        // Copying on the pool as well was tried and measured slower (more user and system time
        // for the reader of a whole dataset): this copy is cheap next to the kernel's.
        for (size_t i = g; i < g_end; ++i) {
            const Cached& c = m_cache.at(needed[i]);
            const std::vector<hsize_t> origin = chunk_origin(needed[i]);
            for (size_t b = 0; b < boxes.size(); ++b) {
                std::vector<hsize_t> lo(rank), hi(rank);
                for (size_t k = 0; k < rank; ++k) {
                    lo[k] = std::max(origin[k], boxes[b].start[k]);
                    hi[k] = std::min(origin[k] + m_chunk[k], boxes[b].start[k] + boxes[b].count[k]);
                }
                const std::vector<uint64_t> box_stride = c_strides(boxes[b].count);
                std::byte* base = dst + box_dst[b] * m_es;
                for_each_run(lo, hi, origin, chunk_stride, boxes[b].start, box_stride,
                             [&](uint64_t s, uint64_t d, uint64_t n) {
                                 std::memcpy(base + d * m_es, c.data + s * m_es, n * m_es);
                             });
            }
        }
    }
    evict_to(kCacheBytes);

    // A sequential reader (each read starting where the last ended) reads the chunks after these
    // next: decompress them on the pool while the caller consumes this piece. Chunks in C order
    // of the grid follow a flat range's rows, and the read's last chunk row is already cached.
    const bool sequential = first == m_last_end;
    m_last_end = last;
    if (sequential && !needed.empty() && needed.back() + 1 < m_chunks) {
        const uint64_t want = std::min<uint64_t>((last - first) * m_es, kAheadBytes);
        const uint64_t n = std::max<uint64_t>(1, want / m_chunk_bytes);
        std::vector<uint64_t> next;
        for (uint64_t i = needed.back() + 1; i < m_chunks && next.size() < n; ++i)
            if (!m_cache.count(i))
                next.push_back(i);
        if (!next.empty()) {
            // The cache and the chunks in flight share one budget.
            const size_t room = next.size() * m_chunk_bytes;
            evict_to(kCacheBytes > room ? kCacheBytes - room : 0);
            auto p = std::make_unique<Pending>();
            fetch(*p, next, false); // stops at the first chunk a later read must handle itself
            if (!p->index.empty()) {
                start(*p);
                m_ahead = std::move(p);
            }
        }
    }
    return true;
}

} // namespace ckpt::detail
