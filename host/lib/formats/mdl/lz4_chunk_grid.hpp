// SPDX-License-Identifier: Apache-2.0
// Chunk-grid arithmetic and stored-chunk look-up shared by the LZ4 chunk writer, copier, mapped
// view and reader (internal to formats/mdl).
#pragma once

#include "formats/mdl/lz4_chunk_io.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace ckpt::detail {

// Chunks larger than this are left to HDF5 (ckptconv and h5py write at most 1 MiB), and so are
// many chunks smaller than kMinDirectChunk (h5py aims at 8 KiB or more): bookkeeping per chunk
// would then outweigh the bytes, and a hostile file could declare millions of them.
constexpr size_t kMaxDirectChunk = size_t{64} << 20;
constexpr size_t kMinDirectChunk = 1024;

inline std::vector<uint64_t> c_strides(const std::vector<hsize_t>& extent)
{
    std::vector<uint64_t> s(extent.size(), 1);
    for (size_t k = extent.size(); k-- > 1;)
        s[k - 1] = s[k] * extent[k];
    return s;
}

// Coordinates (in chunks) of the chunk with C-order index `linear` in `grid`.
inline std::vector<hsize_t> grid_coords(const std::vector<hsize_t>& grid, uint64_t linear)
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
inline std::pair<uint64_t, uint64_t> row_start_in_chunks(uint64_t row, const std::vector<hsize_t>& dims,
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

// One stored chunk: its filter mask and its bytes, in the mapping or in a copy HDF5 made.
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
                       std::vector<unsigned char>& copy, StoredChunk& out);

} // namespace ckpt::detail
