// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a `.mdl` file (HDF5 or not), then every tensor read.
// The input goes through a memfd so HDF5 can open it by path without touching the disk.
#include "core/error.hpp"
#include "formats/mdl/mdl.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>

namespace {

constexpr uint64_t kMaxTensorBytes = 1 << 20;

void read_tensors(const ckpt::Node& n)
{
    if (n.is_tensor()) {
        if (n.as_tensor()->info().nbytes() <= kMaxTensorBytes)
            (void)ckpt::read_all(*n.as_tensor());
    } else if (n.is_map()) {
        for (const auto& e : n.entries())
            read_tensors(e.second);
    } else if (n.is_sequence()) {
        for (const auto& v : n.items())
            read_tensors(v);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const int fd = memfd_create("fuzz.mdl", 0);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        const ssize_t w = write(fd, data + done, size - done);
        if (w <= 0)
            break;
        done += static_cast<size_t>(w);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const ckpt::Checkpoint cp = ckpt::read_mdl(path);
        read_tensors(cp.root);
        std::string note;
        (void)ckpt::detect_cs_release(cp, &note);
    } catch (const ckpt::Error&) {
        // Rejected input is the expected outcome; anything else escaping is a bug.
    }
    close(fd);
    return 0;
}
