// SPDX-License-Identifier: Apache-2.0
// A read-only memory mapping of a whole file.
#include "core/mapped_file.hpp"

#include "core/error.hpp"
#include "core/input_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ckpt {

namespace {

// Every live mapping, for copy_mapped_bytes; a handful at a time (one per input file).
struct Registered {
    const std::byte* data;
    uint64_t size;
    int fd;
};
std::mutex g_registry_mutex;
std::vector<Registered> g_registry;

// Read on every use, as CKPTCONV_MDL_LZ4_DIRECT is, so tests can compare both ways.
bool kernel_copy_enabled()
{
    const char* v = std::getenv("CKPTCONV_COPY_FILE_RANGE");
    return !(v && std::strcmp(v, "0") == 0);
}

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
    f.fd = open_input_file(path);
    struct stat st{};
    if (::fstat(f.fd, &st) != 0)
        throw_input("{}: cannot stat: {}", path.string(), std::strerror(errno));
    std::shared_ptr<MappedFile> m(new MappedFile());
    m->m_path = path;
    m->m_size = static_cast<uint64_t>(st.st_size);
    if (m->m_size > 0) {
        void* p = ::mmap(nullptr, m->m_size, PROT_READ, MAP_PRIVATE, f.fd, 0);
        if (p == MAP_FAILED)
            throw_input("{}: cannot map {} bytes: {}", path.string(), m->m_size, std::strerror(errno));
        ::madvise(p, m->m_size, MADV_SEQUENTIAL);
        m->m_data = static_cast<const std::byte*>(p);
        m->m_fd = f.fd;
        f.fd = -1;
        std::lock_guard<std::mutex> lock(g_registry_mutex);
        g_registry.push_back({m->m_data, m->m_size, m->m_fd});
    }
    return m;
}

MappedFile::~MappedFile()
{
    if (m_data) {
        {
            std::lock_guard<std::mutex> lock(g_registry_mutex);
            g_registry.erase(std::remove_if(g_registry.begin(), g_registry.end(),
                                            [this](const Registered& r) { return r.data == m_data; }),
                             g_registry.end());
        }
        ::munmap(const_cast<std::byte*>(m_data), m_size);
    }
    if (m_fd >= 0)
        ::close(m_fd);
}

namespace {
// The descriptor of the mapping that holds all of [p, p + n), and p's offset in it; -1 if none.
int find_mapping(const void* p, uint64_t n, loff_t& offset)
{
    if (n == 0 || !kernel_copy_enabled())
        return -1;
    const auto* at = static_cast<const std::byte*>(p);
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    for (const Registered& r : g_registry)
        if (at >= r.data && at < r.data + r.size && n <= static_cast<uint64_t>(r.data + r.size - at)) {
            offset = static_cast<loff_t>(at - r.data);
            return r.fd;
        }
    return -1;
}
} // namespace

bool is_mapped(const void* p, uint64_t n)
{
    loff_t offset = 0;
    return find_mapping(p, n, offset) >= 0;
}

uint64_t copy_mapped_bytes(const void* p, uint64_t n, int out_fd, uint64_t* out_offset)
{
    loff_t in_off = 0;
    const int in_fd = find_mapping(p, n, in_off);
    if (in_fd < 0)
        return 0;
    // The mapping stays valid while this runs (its owner is reading it), so the descriptor does.
    loff_t off = out_offset ? static_cast<loff_t>(*out_offset) : 0;
    uint64_t done = 0;
    while (done < n) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, uint64_t{1} << 30));
        const ssize_t got = ::copy_file_range(in_fd, &in_off, out_fd, out_offset ? &off : nullptr, want, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) // unsupported here (EXDEV, EINVAL, ENOSYS, …), or the input shrank: caller writes
            break;
        done += static_cast<uint64_t>(got);
    }
    if (out_offset)
        *out_offset = static_cast<uint64_t>(off);
    return done;
}

std::string read_head(const std::filesystem::path& path, size_t max)
{
    Fd f;
    f.fd = open_input_file(path);
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
