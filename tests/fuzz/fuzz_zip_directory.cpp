// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the zip directory parser and the whole torch reader over arbitrary bytes.
#include "core/error.hpp"
#include "formats/torch/torch_reader.hpp"
#include "formats/torch/zip_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // A private copy so the reader's tensors may outlive nothing but this call.
    auto buf = std::make_shared<std::vector<std::byte>>(size);
    if (size)
        std::memcpy(buf->data(), data, size);
    const std::byte* p = buf->data();
    try {
        const ckpt::ZipDirectory dir = ckpt::parse_zip_directory(p, size, "fuzz.zip");
        for (const auto& e : dir.entries) {
            try {
                const auto b = ckpt::zip_entry_bytes(e, p, size, "fuzz.zip");
                (void)ckpt::crc32_update(0, b.data(), b.size());
            } catch (const ckpt::InputError&) {
            }
        }
    } catch (const ckpt::InputError&) {
    }
    try {
        const ckpt::Checkpoint ck = ckpt::read_torch_buffer(buf, p, size, "fuzz.pt");
        if (ck.root.is_map())
            for (const auto& [k, v] : ck.root.entries())
                if (v.is_tensor()) {
                    // Broadcast (stride 0) views may be logically huge; read a bounded prefix.
                    const ckpt::TensorData& t = *v.as_tensor();
                    std::vector<std::byte> out(static_cast<size_t>(std::min<uint64_t>(t.info().nbytes(), 1u << 16)));
                    t.read(0, out.data(), out.size());
                }
    } catch (const ckpt::Error&) {
    }
    return 0;
}
