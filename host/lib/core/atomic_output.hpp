// SPDX-License-Identifier: Apache-2.0
// Output that appears under its final name only when complete (design.md §3, step 6).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

namespace ckpt {

/// A file or folder written under a temporary name beside `target` (".<name>.ckptconv-partial-
/// <pid>-<random>", see partial_outputs.hpp) and moved into place by `commit()`. Destroying it
/// uncommitted removes everything written; so do SIGINT and SIGTERM.
///
/// Without `overwrite`, an existing target is refused, at construction and again at commit (with
/// no-replace semantics: a target another process created meanwhile is never replaced). With
/// `overwrite` (--force), a file target is replaced atomically; a folder target that exists keeps
/// every file this output does not write, and each file written replaces its namesake atomically.
/// Files in `protect()` (the inputs) are never replaced.
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
    /// Files commit() must refuse to replace (the conversion's inputs).
    void protect(std::vector<std::filesystem::path> inputs) { m_protected = std::move(inputs); }
    /// Moves the temporary into place. Throws InputError on failure (then nothing of this output
    /// is in place, except, for a folder merged into an existing one under `overwrite`, the files
    /// already moved).
    void commit();

private:
    void refuse_protected(const std::filesystem::path& destination) const;
    void merge_into_existing_directory();

    std::filesystem::path m_target;
    std::filesystem::path m_temp;
    std::vector<std::filesystem::path> m_protected;
    Type m_type;
    bool m_overwrite;
    bool m_committed = false;
    int m_cleanup_slot = -1;
};

/// Moves `from` to `to` unless `to` exists (renameat2 RENAME_NOREPLACE; link + unlink for files
/// where the filesystem refuses that flag). Returns false when `to` exists; throws InputError
/// naming `to` on other errors.
bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);
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
