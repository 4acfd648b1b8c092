// SPDX-License-Identifier: Apache-2.0
// Writes zip archives the way torch.save's miniz writer lays them out.
#pragma once

#include "core/atomic_output.hpp"
#include "core/piece_writer.hpp"
#include "core/tensor.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt {

/// Appends stored records to a new zip file: local header with zero sizes (flags 0x0808), data
/// aligned to 64 bytes through an "FB" extra field, a data descriptor with the CRC-32 and sizes,
/// zip64 extra fields for sizes or offsets >= 4 GiB; `finish` writes the central directory, the
/// zip64 end record and locator (always) and the end record. Errors throw InputError naming the
/// file. Record names are full names ("<archive>/data.pkl"). Not thread safe.
class TorchZipWriter {
public:
    explicit TorchZipWriter(const std::filesystem::path& path);

    /// A record from memory.
    void record(const std::string& name, std::string_view bytes);
    /// A record holding the tensor's contiguous bytes, streamed in bounded chunks.
    void tensor_record(const std::string& name, const TensorData& t);
    /// Central directory and end records; closes the file.
    void finish();

private:
    struct CentralEntry {
        std::string name;
        uint64_t offset;
        uint64_t size;
        uint32_t crc;
    };
    void begin(const std::string& name, uint64_t size);
    void end(uint32_t crc);

    FileWriter m_file;
    PieceWriter m_pieces; // every byte goes through it, in order
    std::vector<CentralEntry> m_entries;
    std::string m_name;
    uint64_t m_offset = 0;
    uint64_t m_size = 0;
    bool m_zip64 = false;
};

} // namespace ckpt
