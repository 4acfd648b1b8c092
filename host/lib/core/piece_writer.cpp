// SPDX-License-Identifier: Apache-2.0
#include "core/piece_writer.hpp"

#include "core/crc32.hpp"
#include "core/thread_budget.hpp"

#include <algorithm>
#include <cstring>

namespace ckpt {

namespace {
// Pieces at least this large are read in two halves on two threads when the source allows it;
// mapped tensors this large are checksummed on a helper thread while the kernel copies them.
constexpr uint64_t kSplitBytes = uint64_t{1} << 20;
} // namespace

PieceWriter::PieceWriter(FileWriter& out) : m_out(out), m_position(out.position()) {}

PieceWriter::~PieceWriter()
{
    if (m_pending.valid())
        m_pending.wait(); // an exception is on its way already; this one's is dropped
}

std::pair<std::byte*, size_t> PieceWriter::space(uint64_t want)
{
    if (m_fill == kPieceBytes)
        submit();
    std::vector<std::byte>& b = m_buffers[m_current];
    if (b.size() < kPieceBytes)
        b.resize(kPieceBytes);
    return {b.data() + m_fill, static_cast<size_t>(std::min<uint64_t>(want, kPieceBytes - m_fill))};
}

void PieceWriter::commit(size_t n)
{
    m_fill += n;
    m_position += n;
}

void PieceWriter::write(const void* p, size_t n)
{
    const auto* from = static_cast<const std::byte*>(p);
    while (n > 0) {
        const auto [buf, len] = space(n);
        std::memcpy(buf, from, len);
        commit(len);
        from += len;
        n -= len;
    }
}

void PieceWriter::write_direct(const void* p, size_t n)
{
    finish();
    m_out.write(p, n);
    m_position += n;
}

void PieceWriter::finish()
{
    if (m_fill)
        submit();
    if (m_pending.valid())
        m_pending.get();
}

// Hands the current piece to the helper thread once the previous one is written.
void PieceWriter::submit()
{
    if (m_pending.valid())
        m_pending.get();
    const std::byte* p = m_buffers[m_current].data();
    const size_t n = m_fill;
    m_pending = std::async(std::launch::async, [this, p, n] { m_out.write(p, n); });
    m_current ^= 1;
    m_fill = 0;
}

void stream_tensor(PieceWriter& out, const TensorData& t, uint64_t nbytes, uint32_t* crc,
                   const WriteProgress& progress)
{
    if (const std::byte* p = t.data()) {
        std::future<uint32_t> sum;
        if (crc && nbytes >= kSplitBytes && thread_budget() > 1)
            sum = std::async(std::launch::async, [p, nbytes] { return crc32_update(0, p, nbytes); });
        else if (crc)
            *crc = crc32_update(*crc, p, nbytes);
        try {
            for (uint64_t off = 0; off < nbytes; off += PieceWriter::kPieceBytes) {
                const uint64_t len = std::min(PieceWriter::kPieceBytes, nbytes - off);
                out.write_direct(p + off, static_cast<size_t>(len));
                if (progress)
                    progress(len);
            }
        } catch (...) {
            if (sum.valid())
                sum.wait();
            throw;
        }
        if (sum.valid())
            *crc = crc32_combine(*crc, sum.get(), nbytes);
        return;
    }
    // A source that can be read from two threads at once (computed from mapped bytes: a transpose
    // of stored chunks, say) is read half here and half on a helper thread, beneath wrappers that
    // only count its bytes (they are told); not when --threads 1 asks for one thread of CPU work
    // (the file writes still overlap on a helper thread: they wait on the disk, not the CPU).
    const TensorData& source = stored_source(t);
    const bool halves = source.concurrent_reads() && thread_budget() > 1;
    const uint64_t es = std::max<uint64_t>(1, dtype_size(t.info().dtype));
    for (uint64_t off = 0; off < nbytes;) {
        const auto [buf, len] = out.space(nbytes - off);
        const uint64_t half = halves && len >= kSplitBytes ? len / 2 / es * es : 0;
        if (half != 0) {
            uint32_t second_crc = 0;
            auto second = std::async(std::launch::async, [&, buf = buf, len = len] {
                source.read(off + half, buf + half, len - half);
                if (crc)
                    second_crc = crc32_update(0, buf + half, len - half);
            });
            try {
                source.read(off, buf, half);
            } catch (...) {
                second.wait();
                throw;
            }
            if (crc)
                *crc = crc32_update(*crc, buf, half);
            second.get();
            if (crc)
                *crc = crc32_combine(*crc, second_crc, len - half);
            t.note_bytes_copied(len);
        } else {
            t.read(off, buf, len);
            if (crc)
                *crc = crc32_update(*crc, buf, len);
        }
        out.commit(len);
        if (progress)
            progress(len);
        off += len;
    }
}

} // namespace ckpt
