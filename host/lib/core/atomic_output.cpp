// SPDX-License-Identifier: Apache-2.0
// Output that appears under its final name only when complete.
#include "core/atomic_output.hpp"

#include "core/error.hpp"
#include "core/mapped_file.hpp"

#include <cerrno>
#include <cstring>
#include <random>
#include <unistd.h>

namespace ckpt {

namespace fs = std::filesystem;

namespace {
std::string random_suffix()
{
    static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
    return fmt::format("{:012x}", rng() & 0xFFFFFFFFFFFFull);
}
} // namespace

AtomicOutput::AtomicOutput(fs::path target, Type type, bool overwrite)
    : m_target(std::move(target)), m_type(type), m_overwrite(overwrite)
{
    std::error_code ec;
    if (fs::exists(fs::symlink_status(m_target, ec)) && !m_overwrite)
        throw_input("{}: already exists; remove it or pass --force", m_target.string());
    fs::path dir = m_target.parent_path();
    if (dir.empty())
        dir = ".";
    m_temp = dir / fmt::format(".{}.ckptconv-partial-{}", m_target.filename().string(), random_suffix());
    if (m_type == Type::directory) {
        if (!fs::create_directory(m_temp, ec))
            throw_input("{}: cannot create directory: {}", m_temp.string(), ec ? ec.message() : "exists");
    }
}

AtomicOutput::~AtomicOutput()
{
    if (!m_committed) {
        std::error_code ec;
        fs::remove_all(m_temp, ec);
    }
}

void AtomicOutput::commit()
{
    std::error_code ec;
    if (m_overwrite && fs::exists(fs::symlink_status(m_target, ec)))
        fs::remove_all(m_target, ec);
    fs::rename(m_temp, m_target, ec);
    if (ec)
        throw_input("{}: cannot move finished output into place: {}", m_target.string(), ec.message());
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
