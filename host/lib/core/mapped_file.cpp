// SPDX-License-Identifier: Apache-2.0
// A read-only memory mapping of a whole file.
#include "core/mapped_file.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ckpt {

namespace {
struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};
} // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path)
{
    Fd f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0)
        throw_input("{}: cannot open: {}", path.string(), std::strerror(errno));
    struct stat st{};
    if (::fstat(f.fd, &st) != 0)
        throw_input("{}: cannot stat: {}", path.string(), std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        throw_input("{}: is a directory, expected a file", path.string());
    if (!S_ISREG(st.st_mode))
        throw_input("{}: is not a regular file", path.string());
    std::shared_ptr<MappedFile> m(new MappedFile());
    m->m_path = path;
    m->m_size = static_cast<uint64_t>(st.st_size);
    if (m->m_size > 0) {
        void* p = ::mmap(nullptr, m->m_size, PROT_READ, MAP_PRIVATE, f.fd, 0);
        if (p == MAP_FAILED)
            throw_input("{}: cannot map {} bytes: {}", path.string(), m->m_size, std::strerror(errno));
        ::madvise(p, m->m_size, MADV_SEQUENTIAL);
        m->m_data = static_cast<const std::byte*>(p);
    }
    return m;
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<std::byte*>(m_data), m_size);
}

std::string read_head(const std::filesystem::path& path, size_t max)
{
    Fd f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0)
        throw_input("{}: cannot open: {}", path.string(), std::strerror(errno));
    std::string buf(max, '\0');
    size_t got = 0;
    while (got < max) {
        ssize_t n = ::read(f.fd, buf.data() + got, max - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EISDIR)
                throw_input("{}: is a directory, expected a file", path.string());
            throw_input("{}: cannot read: {}", path.string(), std::strerror(errno));
        }
        if (n == 0)
            break;
        got += static_cast<size_t>(n);
    }
    buf.resize(got);
    return buf;
}

} // namespace ckpt
