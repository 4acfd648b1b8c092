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
};

/// Reads up to `max` bytes from the start of a file (format sniffing). Throws InputError.
std::string read_head(const std::filesystem::path& path, size_t max);

} // namespace ckpt
