// SPDX-License-Identifier: Apache-2.0
// Output that appears under its final name only when complete, never replacing what it must not.
#include "core/atomic_output.hpp"

#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "core/partial_outputs.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace ckpt {

namespace fs = std::filesystem;

bool rename_no_replace(const fs::path& from, const fs::path& to)
{
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return true;
    if (errno == EEXIST)
        return false;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        throw_input("{}: cannot move finished output into place: {}", to.string(), std::strerror(errno));
    // A filesystem without RENAME_NOREPLACE: link() refuses an existing name just as well. A
    // folder cannot be linked; rename() refuses to replace a non-empty folder or a file.
    if (fs::is_directory(fs::symlink_status(from))) {
        if (::rename(from.c_str(), to.c_str()) == 0)
            return true;
        if (errno == EEXIST || errno == ENOTEMPTY || errno == ENOTDIR || errno == EISDIR)
            return false;
        throw_input("{}: cannot move finished output into place: {}", to.string(), std::strerror(errno));
    }
    if (::link(from.c_str(), to.c_str()) != 0) {
        if (errno == EEXIST)
            return false;
        throw_input("{}: cannot move finished output into place: {}", to.string(), std::strerror(errno));
    }
    ::unlink(from.c_str());
    return true;
}

AtomicOutput::AtomicOutput(fs::path target, Type type, bool overwrite)
    : m_target(std::move(target)), m_type(type), m_overwrite(overwrite)
{
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(m_target, ec);
    if (fs::exists(st) && !m_overwrite)
        throw_input("{}: already exists; remove it or pass --force", m_target.string());
    if (fs::exists(st) && m_overwrite) {
        const bool is_dir = fs::is_directory(fs::status(m_target, ec));
        if (m_type == Type::file && is_dir)
            throw_input("{}: is a folder; --force replaces files only, remove it yourself", m_target.string());
        if (m_type == Type::directory && !is_dir)
            throw_input("{}: exists and is not a folder; remove it yourself", m_target.string());
    }
    fs::path dir = m_target.parent_path();
    remove_stale_partial_outputs(dir.empty() ? fs::path(".") : dir);
    m_temp = partial_output_name(m_target);
    m_cleanup_slot = remember_partial_output(m_temp);
    if (m_type == Type::directory) {
        if (!fs::create_directory(m_temp, ec)) {
            forget_partial_output(m_cleanup_slot);
            throw_input("{}: cannot create directory: {}", m_temp.string(), ec ? ec.message() : "exists");
        }
    }
}

AtomicOutput::~AtomicOutput()
{
    if (!m_committed) {
        std::error_code ec;
        fs::remove_all(m_temp, ec);
    }
    forget_partial_output(m_cleanup_slot);
}

void AtomicOutput::refuse_protected(const fs::path& destination) const
{
    std::error_code ec;
    for (const auto& in : m_protected)
        if (fs::equivalent(destination, in, ec))
            throw_input("{}: the output would replace an input file; choose another --output-dir", destination.string());
}

void AtomicOutput::merge_into_existing_directory()
{
    // Only the files this conversion wrote replace their namesakes, each by one rename; every
    // other file in the folder (a user's tokenizer.json, the input itself) stays.
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(m_temp))
        files.push_back(e.path().filename());
    for (const auto& f : files) {
        const fs::path dest = m_target / f;
        refuse_protected(dest);
        std::error_code ec;
        if (fs::is_directory(fs::symlink_status(dest, ec)))
            throw_input("{}: is a folder; --force replaces files only, remove it yourself", dest.string());
    }
    for (const auto& f : files)
        if (::rename((m_temp / f).c_str(), (m_target / f).c_str()) != 0)
            throw_input("{}: cannot move finished output into place: {}", (m_target / f).string(),
                        std::strerror(errno));
    std::error_code ec;
    fs::remove(m_temp, ec);
}

void AtomicOutput::commit()
{
    std::error_code ec;
    if (m_type == Type::file)
        refuse_protected(m_target);
    if (m_overwrite && m_type == Type::directory && fs::is_directory(fs::status(m_target, ec))) {
        merge_into_existing_directory();
    } else if (m_overwrite && m_type == Type::file) {
        if (fs::is_directory(fs::symlink_status(m_target, ec)))
            throw_input("{}: is a folder; --force replaces files only, remove it yourself", m_target.string());
        if (::rename(m_temp.c_str(), m_target.c_str()) != 0)
            throw_input("{}: cannot move finished output into place: {}", m_target.string(), std::strerror(errno));
    } else if (!rename_no_replace(m_temp, m_target)) {
        throw_input("{}: already exists (another process created it while this one was converting); remove it or "
                    "pass --force",
                    m_target.string());
    }
    m_committed = true;
}

FileWriter::FileWriter(const fs::path& path) : m_path(path)
{
    m_file = std::fopen(path.c_str(), "wbx");
    if (!m_file)
        throw_input("{}: cannot create: {}", path.string(), std::strerror(errno));
    std::setvbuf(m_file, nullptr, _IOFBF, 1 << 20);
}

FileWriter::~FileWriter()
{
    if (m_file)
        std::fclose(m_file);
}

void FileWriter::write(const void* data, size_t size)
{
    if (size == 0)
        return;
    if (!m_file)
        throw_input("{}: write after close", m_path.string());
    if (size < kDirectWriteBytes) {
        if (std::fwrite(data, 1, size, m_file) != size)
            throw_input("{}: write failed: {}", m_path.string(), std::strerror(errno));
        m_pos += size;
        return;
    }
    // Large spans (tensor bytes, often straight from a mapped input) go to the kernel directly:
    // copying them through stdio's buffer first costs a third of the throughput.
    if (std::fflush(m_file) != 0)
        throw_input("{}: write failed: {}", m_path.string(), std::strerror(errno));
    const int fd = ::fileno(m_file);
    // Bytes of a mapped input (a tensor stored as it is written) are copied inside the kernel.
    const auto copied = static_cast<size_t>(copy_mapped_bytes(data, size, fd, nullptr));
    const char* p = static_cast<const char*>(data) + copied;
    size_t left = size - copied;
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_input("{}: write failed: {}", m_path.string(), std::strerror(errno));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    m_pos += size;
}

void FileWriter::pad(uint64_t count)
{
    static const char zeros[4096] = {};
    while (count > 0) {
        size_t n = count < sizeof zeros ? static_cast<size_t>(count) : sizeof zeros;
        write(zeros, n);
        count -= n;
    }
}

void FileWriter::close()
{
    if (!m_file)
        return;
    std::FILE* f = m_file;
    m_file = nullptr;
    if (std::fflush(f) != 0 || std::fclose(f) != 0)
        throw_input("{}: cannot finish writing: {}", m_path.string(), std::strerror(errno));
}

} // namespace ckpt
