// SPDX-License-Identifier: Apache-2.0
// The LZ4 HDF5 filter (id 32004) that Cerebras checkpoints use, built into the host, and its chunk
// framing for code that compresses or decompresses chunks outside HDF5's filter pipeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ckpt::detail {

/// HDF5's registered id of hdf5plugin's LZ4 filter.
constexpr int kLz4FilterId = 32004;

/// Registers the filter with the process's libhdf5 (replacing a dynamically loaded plugin of the
/// same id, if any). Call with h5_mutex held. Returns false if HDF5 refused.
bool register_lz4_filter();

/// Largest framed size `lz4_chunk_compress` can produce for `nbytes` of input (0 if `nbytes` is
/// above the 4 GiB an HDF5 chunk can hold).
size_t lz4_chunk_bound(size_t nbytes);

/// Frames and compresses `nbytes` at `in` into `out` (capacity lz4_chunk_bound(nbytes)) exactly as
/// the filter does with its default block size; returns the framed size, 0 on failure.
/// Touches no HDF5 state: safe on any thread.
size_t lz4_chunk_compress(const unsigned char* in, size_t nbytes, unsigned char* out);

/// Bytes a chunk needs in front of it for lz4_chunk_compress_framing_raw_in_place.
constexpr size_t kLz4RawFrameHeader = 16;

/// lz4_chunk_compress for a chunk that lies at `buf + kLz4RawFrameHeader` (the first bytes free):
/// when LZ4 does not shrink it, the frame for a raw block is written into those first bytes and
/// `*in_place` is set, so the framed chunk is `buf` itself and nothing is copied; otherwise the
/// framed chunk is in `out` (capacity lz4_chunk_bound(nbytes)). Returns the framed size, 0 on
/// failure. Safe on any thread.
size_t lz4_chunk_compress_framing_raw_in_place(unsigned char* buf, size_t nbytes, unsigned char* out,
                                               bool* in_place);

/// Decompresses one framed chunk of `nbytes` into `out`, which must hold exactly `expected` bytes
/// (the chunk's size in the dataset). Returns an empty string on success, else why the chunk is
/// corrupt; never reads or writes outside the two buffers. Safe on any thread.
std::string lz4_chunk_decompress(const unsigned char* in, size_t nbytes, unsigned char* out, size_t expected);

/// The plain bytes of a framed chunk of `nbytes` that holds `expected` bytes in one block stored
/// raw (LZ4 did not shrink it: most chunks of trained weights), or nullptr for any other chunk.
/// Reading them needs no decoding. Safe on any thread.
const unsigned char* lz4_chunk_raw_payload(const unsigned char* in, size_t nbytes, size_t expected);

} // namespace ckpt::detail
