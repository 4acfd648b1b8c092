// SPDX-License-Identifier: Apache-2.0
// Reads the central directory of torch.save zips with every offset and size checked.
#include "formats/torch/zip_reader.hpp"

#include "core/error.hpp"

#include <array>
#include <cstring>

namespace ckpt {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;

// Little-endian reads at a position already checked by the caller.
uint16_t rd16(const std::byte* p)
{
    return static_cast<uint16_t>(static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8));
}
uint32_t rd32(const std::byte* p)
{
    return static_cast<uint32_t>(rd16(p)) | (static_cast<uint32_t>(rd16(p + 2)) << 16);
}
uint64_t rd64(const std::byte* p) { return static_cast<uint64_t>(rd32(p)) | (static_cast<uint64_t>(rd32(p + 4)) << 32); }

// True when [off, off + len) lies inside a buffer of `size` bytes (overflow safe).
bool inside(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

struct Zip64Fields {
    bool size, csize, offset;
};

} // namespace

const ZipEntry* ZipDirectory::find(std::string_view full_name) const
{
    auto it = by_name.find(std::string(full_name));
    return it == by_name.end() ? nullptr : &entries[it->second];
}

const ZipEntry* ZipDirectory::find_record(std::string_view record) const
{
    return find(archive_name + "/" + std::string(record));
}

ZipDirectory parse_zip_directory(const std::byte* data, size_t size, const std::string& src)
{
    if (size < kEndSize || !data)
        throw_input("{}: not a zip archive: {} bytes is too short for an end-of-central-directory record",
                    src, size);

    // The end record is the last signature within the final 22 + 65535 (comment) bytes.
    const size_t lowest = size > kEndSize + 0xffff ? size - kEndSize - 0xffff : 0;
    size_t eocd = SIZE_MAX;
    for (size_t pos = size - kEndSize + 1; pos-- > lowest;) {
        if (rd32(data + pos) == kEndSig && pos + kEndSize + rd16(data + pos + 20) <= size) {
            eocd = pos;
            break;
        }
    }
    if (eocd == SIZE_MAX)
        throw_input("{}: not a zip archive or truncated: no end-of-central-directory record found "
                    "in the last {} bytes",
                    src, size - lowest);

    const std::byte* e = data + eocd;
    const uint16_t disk = rd16(e + 4);
    const uint16_t cd_disk = rd16(e + 6);
    uint64_t entries_on_disk = rd16(e + 8);
    uint64_t total_entries = rd16(e + 10);
    uint64_t cd_size = rd32(e + 12);
    uint64_t cd_offset = rd32(e + 16);

    // The zip64 locator sits right before the end record; torch always writes one.
    if (eocd >= kZip64LocatorSize && rd32(data + eocd - kZip64LocatorSize) == kZip64LocatorSig) {
        const std::byte* loc = data + eocd - kZip64LocatorSize;
        const uint64_t z64_off = rd64(loc + 8);
        if (!inside(z64_off, kZip64EndSize, eocd - kZip64LocatorSize))
            throw_input("{}: zip64 end record offset {} is outside the file (expected below {})", src,
                        z64_off, eocd - kZip64LocatorSize);
        const std::byte* z = data + z64_off;
        if (rd32(z) != kZip64EndSig)
            throw_input("{}: no zip64 end record at offset {} named by the zip64 locator", src, z64_off);
        if (rd32(z + 16) != 0 || rd32(z + 20) != 0)
            throw_input("{}: multi-disk zip archives are not supported (zip64 disk numbers {} and {})",
                        src, rd32(z + 16), rd32(z + 20));
        entries_on_disk = rd64(z + 24);
        total_entries = rd64(z + 32);
        cd_size = rd64(z + 40);
        cd_offset = rd64(z + 48);
    } else if (disk != 0 || cd_disk != 0) {
        throw_input("{}: multi-disk zip archives are not supported (disk numbers {} and {})", src, disk,
                    cd_disk);
    } else if (total_entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
        throw_input("{}: the end record needs zip64 values but the zip64 locator is missing", src);
    }

    if (entries_on_disk != total_entries)
        throw_input("{}: central directory claims {} entries on this disk but {} in total", src,
                    entries_on_disk, total_entries);
    if (!inside(cd_offset, cd_size, eocd))
        throw_input("{}: central directory (offset {}, {} bytes) lies outside the file before the end "
                    "record at {}",
                    src, cd_offset, cd_size, eocd);
    if (total_entries > cd_size / kCentralSize)
        throw_input("{}: central directory of {} bytes cannot hold the {} entries it claims", src, cd_size,
                    total_entries);

    ZipDirectory dir;
    dir.entries.reserve(static_cast<size_t>(total_entries));
    uint64_t pos = cd_offset;
    const uint64_t cd_end = cd_offset + cd_size;
    for (uint64_t i = 0; i < total_entries; ++i) {
        if (!inside(pos, kCentralSize, cd_end))
            throw_input("{}: central directory entry {} at offset {} is truncated", src, i, pos);
        const std::byte* c = data + pos;
        if (rd32(c) != kCentralSig)
            throw_input("{}: central directory entry {} at offset {}: bad signature 0x{:08x} (expected "
                        "0x{:08x})",
                        src, i, pos, rd32(c), kCentralSig);
        ZipEntry ent;
        ent.flags = rd16(c + 8);
        ent.method = rd16(c + 10);
        ent.crc32 = rd32(c + 16);
        ent.compressed_size = rd32(c + 20);
        ent.size = rd32(c + 24);
        const uint16_t name_len = rd16(c + 28);
        const uint16_t extra_len = rd16(c + 30);
        const uint16_t comment_len = rd16(c + 32);
        ent.local_header_offset = rd32(c + 42);
        const uint64_t var_len = uint64_t{name_len} + extra_len + comment_len;
        if (!inside(pos + kCentralSize, var_len, cd_end))
            throw_input("{}: central directory entry {} at offset {}: name/extra/comment ({} bytes) run "
                        "past the directory",
                        src, i, pos, var_len);
        ent.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

        // zip64 extra: only the fields whose 32-bit value is saturated, in this order.
        const Zip64Fields need{ent.size == 0xffffffffu, ent.compressed_size == 0xffffffffu,
                               ent.local_header_offset == 0xffffffffu};
        if (need.size || need.csize || need.offset) {
            const std::byte* x = c + kCentralSize + name_len;
            const std::byte* xend = x + extra_len;
            bool found = false;
            while (xend - x >= 4) {
                const uint16_t id = rd16(x);
                const uint16_t len = rd16(x + 2);
                if (len > xend - x - 4)
                    throw_input("{}: entry '{}': extra field 0x{:04x} of {} bytes runs past the extra data",
                                src, ent.name, id, len);
                if (id == 0x0001) {
                    const std::byte* f = x + 4;
                    uint16_t left = len;
                    auto next = [&](const char* what) {
                        if (left < 8)
                            throw_input("{}: entry '{}': zip64 extra field too short for the {}", src,
                                        ent.name, what);
                        const uint64_t v = rd64(f);
                        f += 8;
                        left = static_cast<uint16_t>(left - 8);
                        return v;
                    };
                    if (need.size)
                        ent.size = next("size");
                    if (need.csize)
                        ent.compressed_size = next("compressed size");
                    if (need.offset)
                        ent.local_header_offset = next("local header offset");
                    found = true;
                    break;
                }
                x += 4 + len;
            }
            if (!found)
                throw_input("{}: entry '{}' has saturated 32-bit sizes but no zip64 extra field", src,
                            ent.name);
        }

        // Local header: only its variable lengths matter (sizes are in the central directory).
        if (!inside(ent.local_header_offset, kLocalSize, cd_offset))
            throw_input("{}: entry '{}': local header offset {} is outside the data area (0..{})", src,
                        ent.name, ent.local_header_offset, cd_offset);
        const std::byte* l = data + ent.local_header_offset;
        if (rd32(l) != kLocalSig)
            throw_input("{}: entry '{}': bad local header signature at offset {}", src, ent.name,
                        ent.local_header_offset);
        ent.data_offset = ent.local_header_offset + kLocalSize + rd16(l + 26) + rd16(l + 28);
        if (!inside(ent.data_offset, ent.compressed_size, cd_offset))
            throw_input("{}: entry '{}': data (offset {}, {} bytes) runs past the data area ending at {}",
                        src, ent.name, ent.data_offset, ent.compressed_size, cd_offset);

        pos += kCentralSize + var_len;
        dir.by_name.emplace(ent.name, dir.entries.size());
        dir.entries.push_back(std::move(ent));
    }

    if (dir.entries.empty())
        throw_input("{}: the zip archive has no entries", src);
    const std::string& first = dir.entries.front().name;
    const size_t slash = first.find('/');
    if (slash == std::string::npos || slash == 0)
        throw_input("{}: first zip entry '{}' is not inside an archive folder (expected '<name>/data.pkl')",
                    src, first);
    dir.archive_name = first.substr(0, slash);
    return dir;
}

std::string_view zip_entry_bytes(const ZipEntry& e, const std::byte* data, size_t size,
                                 const std::string& src)
{
    if (e.flags & 0x1)
        throw_input("{}: record '{}' is encrypted; torch.save never encrypts", src, e.name);
    if (e.method != 0)
        throw_input("{}: record '{}' is compressed (zip method {}{}); only stored records, as torch.save "
                    "writes them, can be read — re-save the checkpoint with torch.save",
                    src, e.name, e.method, e.method == 8 ? ", deflate" : "");
    if (e.compressed_size != e.size)
        throw_input("{}: record '{}' is stored but its sizes differ ({} compressed, {} uncompressed)", src,
                    e.name, e.compressed_size, e.size);
    if (!inside(e.data_offset, e.size, size))
        throw_input("{}: record '{}' (offset {}, {} bytes) runs past the end of the file ({} bytes)", src,
                    e.name, e.data_offset, e.size, size);
    return std::string_view(reinterpret_cast<const char*>(data) + e.data_offset, static_cast<size_t>(e.size));
}

} // namespace ckpt
