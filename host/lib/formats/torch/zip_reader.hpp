// SPDX-License-Identifier: Apache-2.0
// The zip container of torch.save files: central directory parsing and stored-record access.
//
// torch.save writes a zip (via miniz) whose records all live under one folder, the archive name
// (the file's stem, or "archive"). Records are stored uncompressed with their data 64-byte
// aligned (padding in an "FB" local extra field); local headers carry no sizes (bit 3, data
// descriptors follow the data), so sizes come from the central directory. A zip64 end record and
// locator are always present; per-entry zip64 extra fields appear for sizes or offsets >= 4 GiB.
// Every count, offset and size is validated against the buffer before it is used.
#pragma once

#include "core/crc32.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckpt {

/// One central directory entry, with its data offset resolved through the local header.
struct ZipEntry {
    std::string name;
    uint64_t local_header_offset = 0;
    uint64_t data_offset = 0; // local header offset + 30 + name length + extra length
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint32_t crc32 = 0;
    uint16_t method = 0; // 0 stored, 8 deflate, ...
    uint16_t flags = 0;
};

/// The parsed directory of a zip held in memory (usually a MappedFile). Holds no pointer into it.
struct ZipDirectory {
    std::vector<ZipEntry> entries; // central directory order
    /// Folder of the first entry (torch's archive name); every record name is relative to it.
    std::string archive_name;
    std::unordered_map<std::string, size_t> by_name;

    /// Entry with this full name, or nullptr.
    const ZipEntry* find(std::string_view full_name) const;
    /// Entry "<archive_name>/<record>", or nullptr.
    const ZipEntry* find_record(std::string_view record) const;
};

/// Parses the end record (zip64 end record and locator when present), the central directory and
/// every local header. Throws InputError naming `source_name` and what is wrong for truncated or
/// inconsistent archives. Never reads outside [data, data + size).
ZipDirectory parse_zip_directory(const std::byte* data, size_t size, const std::string& source_name);

/// The bytes of a stored (method 0) entry inside the same buffer. Throws InputError for
/// compressed or encrypted entries (naming the method), and for sizes that disagree.
std::string_view zip_entry_bytes(const ZipEntry& e, const std::byte* data, size_t size,
                                 const std::string& source_name);

} // namespace ckpt
