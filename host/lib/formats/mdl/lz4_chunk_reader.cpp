// SPDX-License-Identifier: Apache-2.0
// Lz4ChunkReader: element ranges of an LZ4 dataset, chunks decompressed on the worker pool and
// kept in a small cache, with read-ahead for sequential readers.
#include "core/error.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_chunk_grid.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <algorithm>
#include <cstring>

namespace ckpt::detail {

namespace {

// Decompressed chunks a reader keeps, as the HDF5 chunk cache it replaces did.
constexpr size_t kCacheBytes = size_t{32} << 20;
// Chunks decompressed per step of one read: bounds memory for reads of any size.
constexpr size_t kGroupBytes = size_t{8} << 20;
// Decompressed ahead of a sequential reader: one piece of the safetensors writer.
constexpr size_t kAheadBytes = size_t{8} << 20;
// Bytes of buffers kept for reuse: freeing and reallocating a chunk's memory costs page faults
// (and, for large chunks, munmap's cross-core TLB flushes) on every chunk.
constexpr size_t kSpareBytes = size_t{16} << 20;

} // namespace

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