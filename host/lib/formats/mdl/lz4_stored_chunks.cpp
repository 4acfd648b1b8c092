// SPDX-License-Identifier: Apache-2.0
// Where an LZ4 dataset's stored chunks lie: in the input's mapping (found through the file
// driver) or copied out by HDF5, and the switch that turns the direct chunk paths off.
#include "formats/mdl/h5_copy_driver.hpp"
#include "formats/mdl/lz4_chunk_grid.hpp"

#include <cstdlib>
#include <cstring>

namespace ckpt::detail {

bool lz4_direct_enabled()
{
    const char* v = std::getenv("CKPTCONV_MDL_LZ4_DIRECT");
    return !(v && std::strcmp(v, "0") == 0);
}

const unsigned char* StoredBytes::at(uint64_t offset, uint64_t n) const
{
    if (!data || offset > size || n > size - offset)
        return nullptr;
    return reinterpret_cast<const unsigned char*>(data + offset);
}

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

} // namespace ckpt::detail
