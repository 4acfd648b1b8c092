// SPDX-License-Identifier: Apache-2.0
// Opening input files: regular files only, without blocking on anything else.
#include "core/input_file.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ckpt {

const char* file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    default: return "a special file";
    }
}

int open_input_file(const std::filesystem::path& path)
{
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        throw_input("{}: cannot open: {}", path.string(), std::strerror(errno));
    struct Closer { // until the file is known to be one we read
        int fd;
        bool keep = false;
        ~Closer()
        {
            if (!keep)
                ::close(fd);
        }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        throw_input("{}: cannot stat: {}", path.string(), std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        throw_input("{}: is a directory, expected a file", path.string());
    if (!S_ISREG(st.st_mode))
        throw_input("{}: is {}, not a regular file; ckptconv reads checkpoints, configs and indexes only from "
                    "regular files",
                    path.string(), file_kind(st.st_mode));
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        throw_input("{}: cannot open: {}", path.string(), std::strerror(errno));
    closer.keep = true;
    return fd;
}

} // namespace ckpt
