// SPDX-License-Identifier: Apache-2.0
// Writes zip archives with miniz's torch layout: aligned stored records, descriptors, zip64 ends.
#include "formats/torch/zip_writer.hpp"

#include "core/crc32.hpp"
#include "core/error.hpp"

#include <algorithm>

namespace ckpt {

namespace {

constexpr uint64_t kAlignment = 64;      // torch's kFieldAlignment
constexpr uint64_t kMax32 = 0xffffffffu; // MZ_UINT32_MAX

void put16(std::string& s, uint64_t v)
{
    s.push_back(static_cast<char>(v & 0xff));
    s.push_back(static_cast<char>((v >> 8) & 0xff));
}
void put32(std::string& s, uint64_t v)
{
    put16(s, v & 0xffff);
    put16(s, (v >> 16) & 0xffff);
}
void put64(std::string& s, uint64_t v)
{
    put32(s, v & kMax32);
    put32(s, v >> 32);
}

} // namespace

TorchZipWriter::TorchZipWriter(const std::filesystem::path& path) : m_file(path), m_pieces(m_file) {}

void TorchZipWriter::record(const std::string& name, std::string_view bytes)
{
    begin(name, bytes.size());
    m_pieces.write(bytes.data(), bytes.size());
    end(crc32_update(0, bytes.data(), bytes.size()));
}

void TorchZipWriter::tensor_record(const std::string& name, const TensorData& t)
{
    const uint64_t n = t.info().nbytes();
    begin(name, n);
    uint32_t crc = 0;
    stream_tensor(m_pieces, t, n, &crc, {});
    end(crc);
}

void TorchZipWriter::finish()
{
    const uint64_t cd_offset = m_pieces.position();
    for (const auto& e : m_entries) {
        const bool big_size = e.size >= kMax32;
        const bool big_off = e.offset >= kMax32;
        std::string extra;
        if (big_size || big_off) {
            put16(extra, 0x0001);
            put16(extra, (big_size ? 16 : 0) + (big_off ? 8 : 0));
            if (big_size) {
                put64(extra, e.size);
                put64(extra, e.size);
            }
            if (big_off)
                put64(extra, e.offset);
        }
        std::string h;
        put32(h, 0x02014b50);
        put16(h, 0);      // version made by
        put16(h, 0);      // version needed (stored)
        put16(h, 0x0808); // data descriptor + UTF-8 names
        put16(h, 0);      // method: stored
        put16(h, 0);      // time
        put16(h, 0);      // date
        put32(h, e.crc);
        put32(h, std::min(e.size, kMax32));
        put32(h, std::min(e.size, kMax32));
        put16(h, e.name.size());
        put16(h, extra.size());
        put16(h, 0); // comment
        put16(h, 0); // disk
        put16(h, 0); // internal attributes
        put32(h, 0); // external attributes
        put32(h, std::min(e.offset, kMax32));
        h += e.name;
        h += extra;
        m_pieces.write(h.data(), h.size());
    }
    const uint64_t cd_size = m_pieces.position() - cd_offset;
    const uint64_t zip64_end = m_pieces.position();
    const uint64_t count = m_entries.size();
    std::string t;
    put32(t, 0x06064b50);
    put64(t, 44);     // size of the rest of this record
    put16(t, 0x031e); // version made by (miniz)
    put16(t, 0x002d); // version needed: zip64
    put32(t, 0);
    put32(t, 0);
    put64(t, count);
    put64(t, count);
    put64(t, cd_size);
    put64(t, cd_offset);
    put32(t, 0x07064b50); // locator
    put32(t, 0);
    put64(t, zip64_end);
    put32(t, 1);
    put32(t, 0x06054b50); // end record
    put16(t, 0);
    put16(t, 0);
    put16(t, std::min<uint64_t>(count, 0xffff));
    put16(t, std::min<uint64_t>(count, 0xffff));
    put32(t, std::min(cd_size, kMax32));
    put32(t, std::min(cd_offset, kMax32));
    put16(t, 0);
    m_pieces.write(t.data(), t.size());
    m_pieces.finish();
    m_file.close();
}

// Local header with sizes left to the data descriptor, padded so the data is 64-byte aligned
// (torch's getPadding: the "FB" block is always present, zip64 extra first when needed).
void TorchZipWriter::begin(const std::string& name, uint64_t size)
{
    m_offset = m_pieces.position();
    m_size = size;
    const bool big_size = size >= kMax32;
    const bool big_off = m_offset >= kMax32;
    m_zip64 = big_size || big_off;
    std::string zip64;
    if (m_zip64) {
        put16(zip64, 0x0001);
        put16(zip64, (big_size ? 16 : 0) + (big_off ? 8 : 0));
        if (big_size) {
            put64(zip64, size);
            put64(zip64, size);
        }
        if (big_off)
            put64(zip64, m_offset);
    }
    const uint64_t start = m_offset + 30 + name.size() + 4 + zip64.size();
    const uint64_t padding = (kAlignment - start % kAlignment) % kAlignment;
    std::string h;
    put32(h, 0x04034b50);
    put16(h, 0);      // version needed
    put16(h, 0x0808); // flags
    put16(h, 0);      // stored
    put16(h, 0);      // time
    put16(h, 0);      // date
    put32(h, 0);      // crc (in the descriptor)
    put32(h, 0);      // compressed size
    put32(h, 0);      // size
    put16(h, name.size());
    put16(h, zip64.size() + 4 + padding);
    h += name;
    h += zip64;
    h += "FB";
    put16(h, padding);
    h.append(padding, 'Z');
    m_pieces.write(h.data(), h.size());
    m_name = name;
}

void TorchZipWriter::end(uint32_t crc)
{
    std::string d;
    put32(d, 0x08074b50);
    put32(d, crc);
    if (m_zip64) {
        put64(d, m_size);
        put64(d, m_size);
    } else {
        put32(d, m_size);
        put32(d, m_size);
    }
    m_pieces.write(d.data(), d.size());
    m_entries.push_back(CentralEntry{m_name, m_offset, m_size, crc});
}

} // namespace ckpt
