// SPDX-License-Identifier: Apache-2.0
#include "core/crc32.hpp"

#include <zlib.h>

namespace ckpt {

uint32_t crc32_update(uint32_t crc, const void* data, size_t size)
{
    // zlib's braided CRC-32 runs at several GB/s; a byte-wise table would cap .bin writing at
    // a few hundred MB/s. Same polynomial and conventions as the zip format.
    return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), size));
}

uint32_t crc32_combine(uint32_t first, uint32_t second, uint64_t second_size)
{
    return static_cast<uint32_t>(::crc32_combine64(first, second, static_cast<z_off64_t>(second_size)));
}

} // namespace ckpt
