// SPDX-License-Identifier: Apache-2.0
// The output file driver: sec2's behaviour (facts from HDF5's H5FDsec2.c: feature flags, EOF and
// truncation rules, zero-filled reads past the end) written here, plus queued kernel copies.
#include "formats/mdl/h5_copy_driver.hpp"

#include "core/input_file.hpp"
#include "core/mapped_file.hpp"

#include <H5FDpublic.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace ckpt::detail {

namespace {

// Addresses a signed 64-bit file offset can reach, as sec2 allows.
constexpr haddr_t kMaxAddr = (haddr_t{1} << 63) - 1;
// Smaller writes are not worth a look-up (HDF5's metadata, small chunks' neighbours).
constexpr size_t kMinKernelCopy = 4096;

struct CopyFile {
    H5FD_t pub; // HDF5's part; must come first
    int fd = -1;
    haddr_t eoa = 0;
    haddr_t eof = 0;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string name;
    bool kernel_copy = true; // cleared for good once the kernel refuses a copy into this file
    // The queued copy: `len` bytes at `src` (inside a mapping) go to address `dst`.
    const std::byte* src = nullptr;
    haddr_t dst = 0;
    uint64_t len = 0;
};

// Set by h5_locate_chunk on its thread while HDF5 looks a chunk up: the raw-data read that
// follows is noted here and not done.
struct LocateRequest {
    bool active = false;
    int raw_reads = 0;
    haddr_t addr = 0;
    size_t size = 0;
};
thread_local LocateRequest t_locate;

// The input file H5InputOpen allows this thread to open read-only, once; null otherwise.
thread_local const char* t_input_open = nullptr;

CopyFile* as_file(H5FD_t* f)
{
    return reinterpret_cast<CopyFile*>(f);
}
const CopyFile* as_file(const H5FD_t* f)
{
    return reinterpret_cast<const CopyFile*>(f);
}

void push_error(hid_t minor, const char* func, const std::string& what)
{
    H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_IO, minor, "%s", what.c_str());
}

bool write_all(CopyFile& f, haddr_t addr, const std::byte* buf, uint64_t size)
{
    while (size > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(size, uint64_t{1} << 30));
        const ssize_t got = ::pwrite(f.fd, buf, n, static_cast<off_t>(addr));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            push_error(H5E_WRITEERROR, "write",
                       f.name + ": write of " + std::to_string(size) + " bytes at offset " + std::to_string(addr) +
                           " failed: " + (got < 0 ? std::strerror(errno) : "nothing written"));
            return false;
        }
        buf += got;
        addr += static_cast<haddr_t>(got);
        size -= static_cast<uint64_t>(got);
    }
    return true;
}

// Carries out the queued copy: in the kernel where it can, written from the mapping otherwise.
bool flush_queued(CopyFile& f)
{
    if (f.len == 0)
        return true;
    uint64_t at = f.dst;
    const uint64_t copied = f.kernel_copy ? copy_mapped_bytes(f.src, f.len, f.fd, &at) : 0;
    if (copied < f.len)
        f.kernel_copy = false;
    const bool ok = write_all(f, f.dst + copied, f.src + copied, f.len - copied);
    f.len = 0;
    return ok;
}

H5FD_t* open_file(const char* name, unsigned flags, hid_t, haddr_t maxaddr)
{
    if (!name || !*name || maxaddr == 0 || maxaddr == HADDR_UNDEF || maxaddr > kMaxAddr) {
        push_error(H5E_CANTOPENFILE, "open", "invalid file name or address space");
        return nullptr;
    }
    int fd = -1;
    if (!(flags & H5F_ACC_RDWR)) {
        // A read-only open is an input: only the one file H5InputOpen announced. HDF5 opens any
        // other file (the target of an external link, a virtual dataset's source file) through
        // the same driver, and a checkpoint must never make ckptconv read another file.
        if (!t_input_open || std::strcmp(name, t_input_open) != 0) {
            push_error(H5E_CANTOPENFILE, "open",
                       std::string("refusing to open '") + name +
                           "', which the checkpoint refers to: ckptconv reads nothing outside the checkpoint "
                           "file (external links and virtual datasets are not followed)");
            return nullptr;
        }
        t_input_open = nullptr; // once: the file itself
        try {
            fd = open_input_file(name);
        } catch (const std::exception& e) {
            push_error(H5E_CANTOPENFILE, "open", e.what());
            return nullptr;
        }
    } else {
        int oflags = O_RDWR;
        if (flags & H5F_ACC_TRUNC)
            oflags |= O_TRUNC;
        if (flags & H5F_ACC_CREAT)
            oflags |= O_CREAT;
        if (flags & H5F_ACC_EXCL)
            oflags |= O_EXCL;
        fd = ::open(name, oflags | O_CLOEXEC, 0666);
        if (fd < 0) {
            push_error(H5E_CANTOPENFILE, "open", std::string(name) + ": cannot open: " + std::strerror(errno));
            return nullptr;
        }
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        push_error(H5E_CANTOPENFILE, "open", std::string(name) + ": cannot stat: " + std::strerror(errno));
        ::close(fd);
        return nullptr;
    }
    auto* f = new CopyFile();
    std::memset(&f->pub, 0, sizeof f->pub);
    f->fd = fd;
    f->eof = static_cast<haddr_t>(st.st_size);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->name = name;
    return &f->pub;
}

herr_t close_file(H5FD_t* file)
{
    CopyFile* f = as_file(file);
    bool ok = flush_queued(*f);
    if (::close(f->fd) != 0) {
        push_error(H5E_CLOSEERROR, "close", f->name + ": close failed: " + std::strerror(errno));
        ok = false;
    }
    delete f;
    return ok ? 0 : -1;
}

int compare_files(const H5FD_t* a, const H5FD_t* b)
{
    const CopyFile* fa = as_file(a);
    const CopyFile* fb = as_file(b);
    if (fa->dev != fb->dev)
        return fa->dev < fb->dev ? -1 : 1;
    if (fa->ino != fb->ino)
        return fa->ino < fb->ino ? -1 : 1;
    return 0;
}

herr_t query(const H5FD_t*, unsigned long* flags)
{
    // sec2's flags: the file is laid out exactly as with the default driver.
    if (flags)
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
                 H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE | H5FD_FEAT_SUPPORTS_SWMR_IO |
                 H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

haddr_t get_eoa(const H5FD_t* file, H5FD_mem_t)
{
    return as_file(file)->eoa;
}

herr_t set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t addr)
{
    as_file(file)->eoa = addr;
    return 0;
}

haddr_t get_eof(const H5FD_t* file, H5FD_mem_t)
{
    return as_file(file)->eof;
}

herr_t get_handle(H5FD_t* file, hid_t, void** handle)
{
    if (!handle)
        return -1;
    *handle = &as_file(file)->fd;
    return 0;
}

herr_t read_at(H5FD_t* file, H5FD_mem_t type, hid_t, haddr_t addr, size_t size, void* buf)
{
    CopyFile& f = *as_file(file);
    if (t_locate.active && type == H5FD_MEM_DRAW) {
        ++t_locate.raw_reads;
        t_locate.addr = addr;
        t_locate.size = size;
        return 0;
    }
    if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr) {
        push_error(H5E_READERROR, "read", f.name + ": read outside the file's address space");
        return -1;
    }
    if (!flush_queued(f))
        return -1;
    auto* p = static_cast<std::byte*>(buf);
    while (size > 0) {
        const size_t n = std::min<size_t>(size, size_t{1} << 30);
        const ssize_t got = ::pread(f.fd, p, n, static_cast<off_t>(addr));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            push_error(H5E_READERROR, "read", f.name + ": read failed: " + std::strerror(errno));
            return -1;
        }
        if (got == 0) { // past the end of the file but inside the address space
            std::memset(p, 0, size);
            break;
        }
        p += got;
        addr += static_cast<haddr_t>(got);
        size -= static_cast<size_t>(got);
    }
    return 0;
}

herr_t write_at(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void* buf)
{
    CopyFile& f = *as_file(file);
    if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr) {
        push_error(H5E_WRITEERROR, "write", f.name + ": write outside the file's address space");
        return -1;
    }
    const auto* p = static_cast<const std::byte*>(buf);
    const bool continues = f.len != 0 && p == f.src + f.len && addr == f.dst + f.len;
    if (continues && is_mapped(p, size)) {
        f.len += size;
    } else {
        if (!flush_queued(f))
            return -1;
        if (f.kernel_copy && size >= kMinKernelCopy && is_mapped(p, size)) {
            f.src = p;
            f.dst = addr;
            f.len = size;
        } else if (!write_all(f, addr, p, size)) {
            return -1;
        }
    }
    f.eof = std::max<haddr_t>(f.eof, addr + size);
    return 0;
}

herr_t flush_file(H5FD_t* file, hid_t, hbool_t)
{
    return flush_queued(*as_file(file)) ? 0 : -1;
}

herr_t truncate_file(H5FD_t* file, hid_t, hbool_t)
{
    CopyFile& f = *as_file(file);
    if (!flush_queued(f))
        return -1;
    if (f.eoa != f.eof) {
        if (::ftruncate(f.fd, static_cast<off_t>(f.eoa)) != 0) {
            push_error(H5E_SEEKERROR, "truncate", f.name + ": cannot set the file's size: " + std::strerror(errno));
            return -1;
        }
        f.eof = f.eoa;
    }
    return 0;
}

H5FD_class_t make_class()
{
    H5FD_class_t c;
    std::memset(&c, 0, sizeof c);
    c.name = "ckptconv_copy";
    c.maxaddr = kMaxAddr;
    c.fc_degree = H5F_CLOSE_WEAK;
    c.open = open_file;
    c.close = close_file;
    c.cmp = compare_files;
    c.query = query;
    c.get_eoa = get_eoa;
    c.set_eoa = set_eoa;
    c.get_eof = get_eof;
    c.get_handle = get_handle;
    c.read = read_at;
    c.write = write_at;
    c.flush = flush_file;
    c.truncate = truncate_file;
    // One free list for raw data, one for metadata, as sec2 (H5FD_FLMAP_DICHOTOMY).
    const H5FD_mem_t map[H5FD_MEM_NTYPES] = H5FD_FLMAP_DICHOTOMY;
    std::copy(map, map + H5FD_MEM_NTYPES, c.fl_map);
    return c;
}

} // namespace

hid_t h5_copy_driver()
{
    static const H5FD_class_t cls = make_class();
    static hid_t id = H5I_INVALID_HID;
    if (id < 0 || H5Iis_valid(id) <= 0) {
        id = H5FDregister(&cls);
        H5Eclear2(H5E_DEFAULT);
    }
    return id;
}

bool h5_locate_chunk(hid_t dset, const hsize_t* origin, ChunkPlace& out, uint64_t max_size)
{
    hsize_t size = max_size;
    if (max_size == 0 && (H5Dget_chunk_storage_size(dset, origin, &size) < 0 || size == 0))
        return false;
    // HDF5 is handed a buffer of the chunk's size but never writes to it through this driver;
    // under another driver it reads into it, and the answer is "not found".
    thread_local std::unique_ptr<unsigned char[]> scratch;
    thread_local size_t scratch_size = 0;
    if (scratch_size < size) {
        scratch.reset(new unsigned char[size]);
        scratch_size = size;
    }
    t_locate = LocateRequest{true, 0, 0, 0};
    uint32_t mask = 0;
    const herr_t status = H5Dread_chunk(dset, H5P_DEFAULT, origin, &mask, scratch.get());
    const LocateRequest seen = t_locate;
    t_locate = LocateRequest{};
    // H5Dread_chunk checks nothing about the buffer's size: the raw read it asked for is the
    // chunk's stored size, which must fit the bound the caller gave.
    if (status < 0 || seen.raw_reads != 1 || seen.size == 0 || seen.size > size)
        return false;
    out = {mask, seen.addr, seen.size};
    return true;
}

H5InputOpen::H5InputOpen(const char* path)
{
    t_input_open = path;
}

H5InputOpen::~H5InputOpen()
{
    t_input_open = nullptr;
}

void h5_use_copy_driver(hid_t fapl)
{
    const hid_t id = h5_copy_driver();
    if (id >= 0 && H5Pset_driver(fapl, id, nullptr) < 0)
        H5Eclear2(H5E_DEFAULT);
}

} // namespace ckpt::detail
