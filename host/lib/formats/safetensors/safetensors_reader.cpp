// SPDX-License-Identifier: Apache-2.0
// Reads single safetensors files into a Checkpoint of zero-copy tensors.
#include "formats/safetensors/safetensors_reader.hpp"

#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/safetensors/safetensors_header.hpp"

#include <algorithm>
#include <memory>

namespace ckpt {

bool is_safetensors(std::string_view head, uint64_t file_size)
{
    if (head.size() < 9 || file_size < 10)
        return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(head[static_cast<size_t>(i)]);
    if (n < 2 || n > kSafetensorsMaxHeader || n > file_size - 8)
        return false;
    const size_t avail = static_cast<size_t>(std::min<uint64_t>(n, head.size() - 8));
    for (size_t i = 8; i < 8 + avail; ++i) {
        const char c = head[i];
        if (c == '{')
            return true;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return false;
    }
    return false;
}

std::string safetensors_length_problem(std::string_view head, uint64_t file_size)
{
    // A length prefix has zero high bytes (text that happens to hold '{' at byte 8 does not).
    if (head.size() < 9 || head[6] != 0 || head[7] != 0 || is_safetensors(head, file_size))
        return {};
    size_t i = 8;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
        ++i;
    if (i >= head.size() || head[i] != '{')
        return {};
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
        n = (n << 8) | static_cast<unsigned char>(head[static_cast<size_t>(k)]);
    if (n < 2)
        return fmt::format("the 8-byte header length says {} bytes, too short for a JSON header", n);
    if (n > kSafetensorsMaxHeader)
        return fmt::format("the 8-byte header length says {} bytes, more than the {} bytes a safetensors header "
                           "may have",
                           n, kSafetensorsMaxHeader);
    return fmt::format("the 8-byte header length says {} bytes, but only {} bytes follow it (truncated or damaged "
                       "file)",
                       n, file_size - std::min<uint64_t>(file_size, 8));
}

Checkpoint read_safetensors(const std::filesystem::path& path)
{
    const std::string file = path.string();
    std::shared_ptr<const MappedFile> map = MappedFile::open(path);
    const std::string_view bytes(reinterpret_cast<const char*>(map->data()),
                                 static_cast<size_t>(map->size()));
    SafetensorsHeader h = detail::parse_safetensors_header(bytes, map->size(), file);

    Checkpoint ck;
    ck.format = "safetensors";
    ck.files.push_back(path);
    ck.metadata = std::move(h.metadata);
    const std::byte* data = map->data() + h.data_start;
    for (auto& e : h.tensors) {
        auto t = std::make_shared<SpanTensor>(std::move(e.info), data + e.begin, map);
        ck.root.append(Node(std::move(e.name)), Node(TensorPtr(std::move(t))));
    }
    return ck;
}

} // namespace ckpt
