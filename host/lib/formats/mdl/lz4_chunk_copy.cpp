// SPDX-License-Identifier: Apache-2.0
// Passing an input's stored LZ4 chunks through to an output dataset unchanged (no decode, no
// encode), when the input stores them exactly as the writer would.
#include "core/error.hpp"
#include "formats/mdl/lz4_chunk_grid.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <algorithm>

namespace ckpt::detail {

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

} // namespace ckpt::detail
