// SPDX-License-Identifier: Apache-2.0
// Tensors backed by HDF5 datasets (read lazily, by hyperslab) and generated constant tensors.
#pragma once

#include "core/mapped_file.hpp"
#include "core/tensor.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/lz4_chunk_io.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ckpt::detail {

/// An HDF5 file open read-only; closed when the last tensor referring to it goes away.
class H5File {
public:
    /// Opens `path` read-only. Throws InputError with HDF5's reason.
    static std::shared_ptr<const H5File> open(const std::filesystem::path& path);
    ~H5File();
    H5File(const H5File&) = delete;
    H5File& operator=(const H5File&) = delete;

    hid_t id() const { return m_id; }
    const std::filesystem::path& path() const { return m_path; }
    /// The file mapped read-only, where stored chunks are read without HDF5 copying them out;
    /// empty when it could not be mapped.
    const StoredBytes& stored_bytes() const { return m_stored; }

private:
    H5File() = default;
    hid_t m_id = H5I_INVALID_HID;
    std::filesystem::path m_path;
    std::shared_ptr<const MappedFile> m_map;
    StoredBytes m_stored;
};

/// "4-byte float", "string", … for messages.
std::string h5_type_label(hid_t type);

/// Maps a dataset's HDF5 type to a tensor dtype (`is_bfloat16` turns 16-bit integers into BF16).
/// Throws InputError naming `where` for types no tensor dtype matches.
DType dtype_of_h5_type(hid_t type, bool is_bfloat16, const std::string& where);

/// The HDF5 memory type in which a dtype's bytes are little-endian and C-contiguous, as the
/// host keeps them. For BF16 the file's 16-bit integer signedness is kept (`file_type` may be
/// negative otherwise). Owned by the caller.
H5Id h5_memory_type(DType dtype, hid_t file_type);

/// The HDF5 file type ckptconv writes for a dtype (bf16 as I16LE, as cstorch does).
H5Id h5_file_type(DType dtype, const std::string& where);

/// One hyperslab box: start and count per dimension.
struct H5Box {
    std::vector<hsize_t> start;
    std::vector<hsize_t> count;
};

/// Splits the C-order element range [first, last) of an array of `shape` into at most
/// 2·rank − 1 boxes whose row-major union is exactly that range.
std::vector<H5Box> flat_range_boxes(const std::vector<int64_t>& shape, uint64_t first, uint64_t last);

/// A tensor whose bytes are a dataset of an open HDF5 file.
class H5DatasetTensor final : public TensorData {
public:
    H5DatasetTensor(std::shared_ptr<const H5File> file, std::string dataset, TensorInfo info);
    ~H5DatasetTensor() override;
    const TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override;
    /// True when every chunk lies raw in the file's mapping (see MappedChunks): reads are then
    /// plain copies that any thread can make. Decided once, on first use.
    bool concurrent_reads() const override;
    /// Chunks that lie raw in the mapping (see concurrent_reads) are offered where they lie.
    bool view_box(uint64_t row, uint64_t col, BoxView& out) const override;
    /// Copies the dataset's stored LZ4 chunks as they are into `dst`, a new, empty dataset of the
    /// same shape that the caller created with chunk shape `chunk`, file type `file_type` and
    /// exactly the LZ4 filter with default options (see copy_lz4_chunks). Returns false, having
    /// written nothing, when this dataset is stored any other way; the caller then writes the
    /// tensor's bytes. Call with h5_mutex held. Throws InputError naming this file and dataset.
    bool copy_stored_chunks(hid_t dst, const std::vector<hsize_t>& chunk, hid_t file_type,
                            const std::string& what) const;

private:
    void read_elements(hid_t dset, hid_t mem_type, uint64_t first, uint64_t last, std::byte* dst) const;
    const MappedChunks* mapped_chunks() const;
    std::shared_ptr<const H5File> m_file;
    std::string m_dataset;
    TensorInfo m_info;
    // Kept open between partial reads so decompressed chunks stay in its chunk cache (a
    // transposing reader visits each chunk many times); closed once the last byte was read.
    mutable H5Id m_dset;
    mutable H5Id m_mtype;
    // Set while m_dset is open and its chunks can be decompressed on every core.
    mutable std::unique_ptr<Lz4ChunkReader> m_direct;
    // 0 not decided yet, 1 m_chunks is the dataset's raw chunks in the mapping, 2 it is not.
    mutable std::atomic<int> m_chunks_state{0};
    mutable std::unique_ptr<MappedChunks> m_chunks;
};

/// A tensor of one repeated value (cstorch's DeferredFullTensor); nothing is allocated.
class FullTensor final : public TensorData {
public:
    /// `element` holds the value's bytes in `info.dtype` (dtype_size bytes).
    FullTensor(TensorInfo info, std::vector<std::byte> element);
    const TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override;

private:
    TensorInfo m_info;
    std::vector<std::byte> m_element;
};

} // namespace ckpt::detail
