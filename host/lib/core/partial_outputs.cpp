// SPDX-License-Identifier: Apache-2.0
// Partial outputs removed on SIGINT/SIGTERM/SIGHUP and, when stale, by the next run.
#include "core/partial_outputs.hpp"

#include "core/log.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <limits.h>
#include <random>
#include <regex>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ckpt {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = ".ckptconv-partial-";

// The signal handler may only read plain memory and call async-signal-safe functions, so the
// registry is a fixed array of path buffers, each published by an atomic state.
constexpr int kSlots = 64;
enum SlotState : int { kFree = 0, kFilling = 1, kLive = 2 };
struct Slot {
    std::atomic<int> state{kFree};
    char path[PATH_MAX] = {};
};
Slot g_slots[kSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads slot states");

/// Removes a file, or a folder and the files (and empty folders) directly inside it, using only
/// async-signal-safe calls (getdents64 is a plain system call).
void remove_in_handler(const char* path)
{
    if (::unlink(path) == 0 || errno != EISDIR)
        return;
    const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        alignas(8) char buf[4096];
        for (;;) {
            const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
            if (n <= 0)
                break;
            for (long off = 0; off < n;) {
                // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
                unsigned short reclen;
                std::memcpy(&reclen, buf + off + 16, sizeof reclen);
                const char* name = buf + off + 19;
                if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0)
                    if (::unlinkat(fd, name, 0) != 0 && errno == EISDIR)
                        ::unlinkat(fd, name, AT_REMOVEDIR);
                off += reclen;
            }
        }
        ::close(fd);
    }
    ::rmdir(path);
}

void write_stderr(const char* s)
{
    size_t left = std::strlen(s);
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, s, left);
        if (n <= 0)
            return;
        s += n;
        left -= static_cast<size_t>(n);
    }
}

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int sig)
{
    if (g_interrupted.exchange(true)) // a second signal while cleaning up: let the first finish
        return;
    for (Slot& s : g_slots)
        if (s.state.load() == kLive)
            remove_in_handler(s.path);
    write_stderr(sig == SIGINT ? "ckptconv: interrupted (SIGINT); partial output removed\n"
                 : sig == SIGTERM ? "ckptconv: interrupted (SIGTERM); partial output removed\n"
                                  : "ckptconv: interrupted (SIGHUP); partial output removed\n");
    ::_exit(128 + sig);
}

std::string random_suffix()
{
    static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
    return fmt::format("{:012x}", rng() & 0xFFFFFFFFFFFFull);
}

} // namespace

fs::path partial_output_name(const fs::path& target)
{
    fs::path dir = target.parent_path();
    if (dir.empty())
        dir = ".";
    return dir / fmt::format(".{}{}{}-{}", target.filename().string(), kMarker, ::getpid(), random_suffix());
}

int remove_stale_partial_outputs(const fs::path& dir)
{
    // Only names this version makes: the pid is what tells a stale one from a live one.
    static const std::regex ours(R"(^\..+\.ckptconv-partial-([0-9]+)-[0-9a-f]{12}$)");
    int removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, ours))
            continue;
        const long pid = std::strtol(m[1].str().c_str(), nullptr, 10);
        if (pid <= 0 || pid == ::getpid() || pid > INT_MAX)
            continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
            continue; // running (or not ours to signal): not stale
        std::error_code rm;
        if (fs::remove_all(it->path(), rm) > 0 && !rm) {
            log::info("Removed {}, a partial output left by process {} which is no longer running",
                      it->path().string(), pid);
            ++removed;
        }
    }
    return removed;
}

void remove_partial_outputs_on_signals()
{
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(sig, &sa, nullptr);
}

int remember_partial_output(const fs::path& path)
{
    const std::string& p = path.native();
    if (p.size() >= PATH_MAX)
        return -1;
    for (int i = 0; i < kSlots; ++i) {
        int expected = kFree;
        if (g_slots[i].state.compare_exchange_strong(expected, kFilling)) {
            std::memcpy(g_slots[i].path, p.c_str(), p.size() + 1);
            g_slots[i].state.store(kLive);
            return i;
        }
    }
    return -1;
}

void forget_partial_output(int slot)
{
    if (slot >= 0 && slot < kSlots)
        g_slots[slot].state.store(kFree);
}

} // namespace ckpt
