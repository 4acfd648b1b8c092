// SPDX-License-Identifier: Apache-2.0
// Internals of the `.mdl` writer shared by both HDF5 layouts: file, datasets, streamed tensors.
#pragma once

#include "core/node.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/lz4_chunk_io.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::detail {

/// h5py's automatic chunk shape (`h5py._hl.filters.guess_chunk`): halve the axes in turn until
/// a chunk is near a target between 8 KiB and 1 MiB that grows with the dataset size.
std::vector<hsize_t> guess_chunk(const std::vector<int64_t>& shape, size_t type_size);

/// Creates (truncates) an HDF5 file and writes datasets into its root group. Callers hold
/// h5_mutex. Object timestamps are off so the same input gives the same bytes.
class Writer {
public:
    Writer(const std::filesystem::path& path, bool compress);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    hid_t id() const { return m_file.get(); }
    const std::string& name() const { return m_name; }

    /// A dataset holding a tensor, streamed in bounded pieces: contiguous when uncompressed,
    /// h5py-chunked with LZ4 when compressed (0-d and empty tensors are always contiguous).
    H5Id tensor(const std::string& dataset, const TensorData& t, const std::string& key);
    /// A 0-d dataset holding a Python bool (h5py enum), int (I64LE) or float (F64LE).
    H5Id scalar(const std::string& dataset, const Node& value, const std::string& key);
    /// `h5py.Empty("f")`: a float32 dataset with a null dataspace (strings, None, objects).
    H5Id empty(const std::string& dataset, const std::string& key);

    /// Flushes and closes the file; errors become InputError.
    void close();

private:
    H5Id create(const std::string& dataset, hid_t type, hid_t space, hid_t dcpl, const std::string& key,
                hid_t dapl = H5P_DEFAULT);
    H5Id m_file;
    std::string m_name;
    bool m_compress;
    Lz4ChunkWriter m_lz4; // its chunk buffers serve every tensor of this file
};

/// The dill pickle (hex) that ObjectH5Type stores for an opaque value or a bytes object.
std::string object_hex(const Node& value, const std::string& where);

/// Whether ckptconv stores `leaf` as a tensor, scalar, string, None or object.
enum class LeafKind { tensor, scalar, string, none, object };
LeafKind leaf_kind(const Node& leaf);

} // namespace ckpt::detail
