// SPDX-License-Identifier: Apache-2.0
// CRC-32 as zip records use it (zlib's implementation).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ckpt {

/// The CRC-32 of `crc`'s bytes followed by `size` more at `data` (start with 0).
uint32_t crc32_update(uint32_t crc, const void* data, size_t size);

/// The CRC-32 of two byte runs one after the other, from each run's own CRC (`second_size` is the
/// second run's length): lets runs be checksummed on different threads.
uint32_t crc32_combine(uint32_t first, uint32_t second, uint64_t second_size);

} // namespace ckpt
