// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the safetensors header parser: any bytes, as a whole file, must either
// parse into a header whose tensors tile the data section or throw InputError; nothing else.
#include "core/error.hpp"
#include "formats/safetensors/safetensors_header.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const ckpt::SafetensorsHeader h = ckpt::detail::parse_safetensors_header(bytes, size, "fuzz.safetensors");
        // Whatever was accepted must be internally consistent: every tensor inside the file.
        for (const auto& t : h.tensors)
            if (t.begin > t.end || t.end > h.data_size || h.data_start + t.end > size)
                std::abort();
        if (h.data_start + h.data_size != size)
            std::abort();
    } catch (const ckpt::InputError&) {
    }
    return 0;
}
