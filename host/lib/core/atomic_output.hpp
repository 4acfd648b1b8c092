// SPDX-License-Identifier: Apache-2.0
// Output that appears under its final name only when complete (design.md §3, step 6).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace ckpt {

/// A file or directory written under a temporary name beside `target` and renamed into place by
/// `commit()`. Destroying it uncommitted removes everything written. Refuses an existing target
/// unless `overwrite`; never follows the target to replace an input (callers check that).
class AtomicOutput {
public:
    enum class Type { file, directory };
    AtomicOutput(std::filesystem::path target, Type type, bool overwrite = false);
    ~AtomicOutput();
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;

    /// Where to write now: the temporary file, or the temporary directory.
    const std::filesystem::path& path() const { return m_temp; }
    const std::filesystem::path& target() const { return m_target; }
    /// Renames the temporary into place. Throws InputError on failure.
    void commit();

private:
    std::filesystem::path m_target;
    std::filesystem::path m_temp;
    Type m_type;
    bool m_overwrite;
    bool m_committed = false;
};

/// A buffered, checked writer to a file (used by every container writer). Errors throw
/// InputError naming the file.
class FileWriter {
public:
    explicit FileWriter(const std::filesystem::path& path);
    ~FileWriter();
    FileWriter(const FileWriter&) = delete;
    FileWriter& operator=(const FileWriter&) = delete;

    void write(const void* data, size_t size);
    void write(std::string_view s) { write(s.data(), s.size()); }
    /// Writes `count` zero bytes.
    void pad(uint64_t count);
    uint64_t position() const { return m_pos; }
    /// Flushes and closes; must be called before commit (the destructor closes silently).
    void close();

private:
    static constexpr size_t kDirectWriteBytes = 256 * 1024;
    std::filesystem::path m_path;
    std::FILE* m_file = nullptr;
    uint64_t m_pos = 0;
};

} // namespace ckpt
