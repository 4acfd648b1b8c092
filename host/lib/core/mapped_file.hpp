// SPDX-License-Identifier: Apache-2.0
// A read-only memory mapping of a whole file, shared by the tensors that point into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ckpt {

/// Maps `path` read-only (MAP_PRIVATE, PROT_READ: the input can never be modified through it).
/// An empty file maps to size 0 with a null data pointer. Throws InputError naming the file.
class MappedFile {
public:
    static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::byte* data() const { return m_data; }
    uint64_t size() const { return m_size; }
    const std::filesystem::path& path() const { return m_path; }

private:
    MappedFile() = default;
    std::filesystem::path m_path;
    const std::byte* m_data = nullptr;
    uint64_t m_size = 0;
    int m_fd = -1; // kept open so writers can copy mapped bytes inside the kernel
};

/// Copies `n` bytes at `p` — memory that a live MappedFile maps — into `out_fd` at `*out_offset`
/// (advanced past what was copied; a null `out_offset` means at, and advancing, the descriptor's
/// own position, as write() does) inside the kernel, with copy_file_range: the bytes are copied
/// from page cache to page cache once, as `cp` does, instead of being read through the mapping
/// and written back. Returns how many bytes were copied, fewer than `n` (often 0) when `p` is not
/// mapped or the kernel cannot copy between these two files (another file system, say); the
/// caller writes the rest from `p` itself. Never throws; a real write error is left for the
/// caller's own write to report. CKPTCONV_COPY_FILE_RANGE=0 in the environment turns it off.
uint64_t copy_mapped_bytes(const void* p, uint64_t n, int out_fd, uint64_t* out_offset);

/// Whether all `n` bytes at `p` lie in one live MappedFile and kernel copies are enabled: what
/// copy_mapped_bytes can copy, for writers that queue copies before making them.
bool is_mapped(const void* p, uint64_t n);

/// Reads up to `max` bytes from the start of a file (format sniffing). Throws InputError.
std::string read_head(const std::filesystem::path& path, size_t max);

} // namespace ckpt
