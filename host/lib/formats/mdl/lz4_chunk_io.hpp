// SPDX-License-Identifier: Apache-2.0
// LZ4 `.mdl` datasets written and read chunk by chunk outside HDF5's serial filter pipeline, so
// compression and decompression run on every core (HDF5 1.10 runs filters on one thread).
#pragma once

#include "core/tensor.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/worker_pool.hpp"

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ckpt::detail {

/// Whether LZ4 datasets bypass HDF5's filter pipeline (H5Dwrite_chunk / H5Dread_chunk). On unless
/// the environment sets CKPTCONV_MDL_LZ4_DIRECT=0, which forces the filter path for writing and
/// reading (for comparisons and as an escape hatch); read on every call so tests can switch it.
bool lz4_direct_enabled();

/// An open HDF5 file's bytes mapped read-only, so stored chunks are read where they lie instead
/// of being copied out by HDF5 (one pread per chunk). Empty when the file is not mapped; set only
/// for files open through h5_copy_driver, which finds the chunks (h5_locate_chunk).
struct StoredBytes {
    const std::byte* data = nullptr; // the whole file
    uint64_t size = 0;

    /// The `n` bytes at file offset `offset`, or nullptr when they do not lie inside the file.
    const unsigned char* at(uint64_t offset, uint64_t n) const;
};

/// Writes every chunk of new, empty LZ4-chunked datasets (their filter pipeline exactly the LZ4
/// filter) from tensors whose bytes are the file type's bytes: chunks are gathered in C order of
/// the chunk grid, compressed on the worker pool (a few MiB in flight) and stored with
/// H5Dwrite_chunk in that order, giving the bytes the filter path writes when it stores each
/// chunk as soon as it is complete. A mapped source (`t.data()`) is gathered on the pool as well.
/// Owns the chunk buffers (about 12 MiB at most), kept from one tensor to the next: one writer
/// per output file (the `.mdl` Writer holds it), used by one thread at a time, under h5_mutex.
/// The buffers are released with the writer.
class Lz4ChunkWriter {
public:
    Lz4ChunkWriter();
    ~Lz4ChunkWriter();
    Lz4ChunkWriter(const Lz4ChunkWriter&) = delete;
    Lz4ChunkWriter& operator=(const Lz4ChunkWriter&) = delete;

    /// Writes `t` into `dset` (shape `dims`, chunk shape `chunk`, `elem_size`-byte elements).
    /// Call with h5_mutex held. Throws InputError naming `what`.
    void write(hid_t dset, const TensorData& t, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk,
               size_t elem_size, const std::string& what);

private:
    struct Buffers;
    std::unique_ptr<Buffers> m_buffers;
};

/// Copies every stored chunk of `src` into `dst` as it is (H5Dread_chunk → H5Dwrite_chunk, with
/// its filter mask), in C order of the chunk grid as Lz4ChunkWriter stores them, when `src` is
/// stored exactly as the writer would store it: chunk shape `chunk`, shape `dims`, a file type
/// equal to `file_type`, exactly the LZ4 filter with its default block size, every chunk
/// allocated. Chunks written by this LZ4 framing then give the same file bytes as compressing
/// again. Returns false, having written nothing, otherwise. A stored chunk whose size or LZ4
/// header does not fit the chunk is an InputError naming `src_file` and `src_name`; the payload
/// is not decoded (a corrupt block is copied as `cp` would copy it). Chunks are taken from
/// `mapped` when given (checked against HDF5 on the first chunk). Call with h5_mutex held.
bool copy_lz4_chunks(hid_t src, hid_t dst, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk,
                     hid_t file_type, const StoredBytes& mapped, const std::string& src_file,
                     const std::string& src_name, const std::string& what);

/// An LZ4-chunked dataset whose chunks are stored raw (one incompressible block) in a mapped
/// file: the tensor's bytes are the mapping's, chunk by chunk, so any range is read with plain
/// copies, from any number of threads at once, without HDF5. Trained weights are mostly stored
/// this way; the few chunks LZ4 did shrink (edge chunks padded with zeros, typically) are decoded
/// once, within a process-wide budget of kMappedChunksDecodedBytes. Found with one chunk-index
/// look-up per chunk when the dataset is opened.
class MappedChunks {
public:
    /// The view when `dset` (its file open through h5_copy_driver, `mapped` its bytes) is chunked
    /// with exactly the LZ4 filter, needs no type conversion to `mem_type`, every chunk is
    /// allocated inside the mapping (the first one also read by HDF5 and compared), and the
    /// chunks that are not raw fit the budget; nullptr otherwise (the caller reads through
    /// Lz4ChunkReader or HDF5, which report corrupt chunks). Call with h5_mutex held.
    static std::unique_ptr<MappedChunks> open(hid_t dset, hid_t file_type, hid_t mem_type,
                                              const std::vector<int64_t>& shape, const StoredBytes& mapped);
    ~MappedChunks();
    MappedChunks(const MappedChunks&) = delete;
    MappedChunks& operator=(const MappedChunks&) = delete;
    /// Copies elements [first, last) in C order into `dst`. Thread safe.
    void read(uint64_t first, uint64_t last, std::byte* dst) const;
    /// The chunk bytes from element (row, col) of the dataset's matrix shape (TensorData::view_box)
    /// to the end of its chunk. Thread safe.
    BoxView view(uint64_t row, uint64_t col) const;

    /// Decoded chunks all views together may hold.
    static constexpr uint64_t kMappedChunksDecodedBytes = uint64_t{16} << 20;

private:
    MappedChunks() = default;
    std::vector<hsize_t> m_dims, m_chunk, m_grid;
    std::vector<uint64_t> m_chunk_stride, m_grid_stride;
    size_t m_es = 0;
    std::vector<const std::byte*> m_plain; // each chunk's bytes, C order of the grid
    std::vector<std::unique_ptr<std::byte[]>> m_decoded;
    uint64_t m_decoded_bytes = 0; // counted in the process-wide budget
};

/// Reads element ranges of one LZ4-chunked dataset by decompressing whole chunks on the worker
/// pool, keeping recently used chunks (a transposing reader visits each chunk many times). Stored
/// chunks are read from the file's mapping when there is one; a chunk stored raw (incompressible,
/// as trained weights mostly are) is then used where it lies, neither copied nor decoded.
/// Not thread safe: the owner serialises calls (under h5_mutex). `dset` must outlive it.
class Lz4ChunkReader {
public:
    /// A reader when `dset` is chunked with exactly the LZ4 filter and its file type needs no
    /// conversion to `mem_type`; nullptr for anything else (the caller reads through HDF5).
    static std::unique_ptr<Lz4ChunkReader> open(hid_t dset, hid_t file_type, hid_t mem_type,
                                                const std::vector<int64_t>& shape, const StoredBytes& mapped,
                                                std::string file, std::string dataset);
    ~Lz4ChunkReader();
    Lz4ChunkReader(const Lz4ChunkReader&) = delete;
    Lz4ChunkReader& operator=(const Lz4ChunkReader&) = delete;

    /// Reads elements [first, last) in C order into `dst`. Returns false, with `dst` in an
    /// unspecified state, when a chunk is one the direct path does not handle (unallocated,
    /// stored unfiltered); the caller then reads through HDF5. A corrupt chunk is an InputError
    /// naming the file, the dataset and the chunk. A read that continues the previous one starts
    /// decompressing the chunks that follow on the pool before returning (read-ahead).
    bool read(uint64_t first, uint64_t last, std::byte* dst);

private:
    using Bytes = std::unique_ptr<std::byte[]>;
    struct Cached {
        Bytes bytes;        // decoded here; null when the chunk is used where it is stored
        const std::byte* data; // the chunk's plain bytes
        std::list<uint64_t>::iterator lru;
    };
    // Stored chunks being decompressed on the pool.
    struct Pending {
        std::vector<uint64_t> index;
        std::vector<std::vector<unsigned char>> packed; // copies HDF5 made (empty when mapped)
        std::vector<const unsigned char*> stored;       // each chunk's stored bytes
        std::vector<size_t> stored_size;
        std::vector<Bytes> plain;
        std::vector<const std::byte*> raw; // plain bytes in the mapping: nothing to decode
        std::vector<std::string> error; // why a chunk is corrupt; empty when it decoded
        std::shared_ptr<WorkerPool::Batch> job;
    };

    Lz4ChunkReader() = default;
    bool read_cached_row(uint64_t first, uint64_t last, std::byte* dst);
    std::vector<hsize_t> chunk_origin(uint64_t linear) const;
    bool fetch(Pending& p, const std::vector<uint64_t>& index, bool strict);
    void start(Pending& p);
    size_t finish(Pending& p);
    bool load(const std::vector<uint64_t>& missing);
    void collect_ahead();
    void evict_to(size_t budget);

    hid_t m_dset = H5I_INVALID_HID;
    StoredBytes m_mapped; // emptied if the first chunk read from it differs from HDF5's read
    bool m_mapped_checked = false;
    std::string m_file, m_dataset;
    std::vector<hsize_t> m_dims, m_chunk, m_grid;
    std::vector<uint64_t> m_chunk_stride, m_grid_stride; // C-order strides within a chunk, of the grid
    uint64_t m_chunks = 0; // in the whole grid
    size_t m_es = 0;
    size_t m_chunk_bytes = 0;
    std::unordered_map<uint64_t, Cached> m_cache;
    std::list<uint64_t> m_lru; // most recently used first
    size_t m_cached_bytes = 0;
    size_t m_max_spare = 2;
    std::vector<Bytes> m_spare;                            // evicted chunk buffers
    std::vector<std::vector<unsigned char>> m_spare_packed; // stored-chunk buffers
    std::unique_ptr<Pending> m_ahead;
    uint64_t m_last_end = 0; // where the previous read ended
};

} // namespace ckpt::detail
