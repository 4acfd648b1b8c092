// SPDX-License-Identifier: Apache-2.0
// A file written as a stream of pieces: computing the next piece overlaps writing the last one.
#pragma once

#include "core/atomic_output.hpp"
#include "core/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <utility>
#include <vector>

namespace ckpt {

/// The rest of a file as a stream of 8 MiB pieces: bytes are put into the free space of the
/// current piece, and each full piece is written by a helper thread while the next one is filled,
/// so computing (decoding, transposing, checksumming) and the kernel's copy into the page cache
/// overlap on two cores. Small records share a piece instead of each waiting for the write
/// before them. Holds two pieces. All calls from one thread; write errors surface from the call
/// that waits for the failed write (the next submit, write_direct or finish) as InputError.
class PieceWriter {
public:
    static constexpr uint64_t kPieceBytes = uint64_t{8} << 20;

    explicit PieceWriter(FileWriter& out);
    ~PieceWriter();
    PieceWriter(const PieceWriter&) = delete;
    PieceWriter& operator=(const PieceWriter&) = delete;

    /// Free space in the current piece: up to `want` bytes (at least one when want > 0).
    std::pair<std::byte*, size_t> space(uint64_t want);
    /// `n` bytes of the last space() are filled.
    void commit(size_t n);
    /// Copies `n` bytes into the stream.
    void write(const void* p, size_t n);
    /// Writes bytes the caller keeps valid (a mapping) after everything before them, from this
    /// thread (mapped bytes are copied inside the kernel).
    void write_direct(const void* p, size_t n);
    /// Writes what is buffered and waits for it.
    void finish();
    /// Where the next byte goes in the file.
    uint64_t position() const { return m_position; }

private:
    void submit();

    FileWriter& m_out;
    std::vector<std::byte> m_buffers[2];
    size_t m_current = 0;
    size_t m_fill = 0;
    uint64_t m_position = 0;
    std::future<void> m_pending;
};

/// Called with the number of tensor bytes just written (for progress bars). May be empty.
using WriteProgress = std::function<void(uint64_t bytes)>;

/// Streams the `nbytes` bytes of `t` into `out`: a mapped tensor straight from its mapping,
/// another read piece by piece, in two halves on two threads when its stored source allows
/// concurrent reads. When `crc` is given, the bytes' CRC-32 is added to it, computed where the
/// bytes are produced (beside the kernel's copy for a mapped tensor). Rethrows the source's
/// InputError as it is (callers add the file and tensor name).
void stream_tensor(PieceWriter& out, const TensorData& t, uint64_t nbytes, uint32_t* crc,
                   const WriteProgress& progress);

} // namespace ckpt
