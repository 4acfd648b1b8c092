// SPDX-License-Identifier: Apache-2.0
// MappedChunks: an LZ4 dataset whose chunks are stored raw, read straight from the input's
// mapping by any number of threads.
#include "formats/mdl/lz4_chunk_grid.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace ckpt::detail {

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

} // namespace ckpt::detail
