// SPDX-License-Identifier: Apache-2.0
// Streams tensors into a safetensors file: header from the tensor infos, then bytes in chunks.
#include "formats/safetensors/safetensors_writer.hpp"

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/piece_writer.hpp"
#include "formats/safetensors/json_text.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace ckpt {

namespace {

struct Planned {
    const NamedTensor* tensor;
    uint64_t nbytes;
};

uint64_t checked_nbytes(const TensorInfo& info, const std::string& file, const std::string& name)
{
    const uint64_t esize = dtype_size(info.dtype);
    if (esize == 0)
        throw_input("{}: tensor \"{}\" has no valid dtype", file, name);
    uint64_t n = 1;
    for (int64_t d : info.shape) {
        if (d < 0)
            throw_input("{}: tensor \"{}\" has negative dimension {} in its shape", file, name, d);
        const auto ud = static_cast<uint64_t>(d);
        if (ud != 0 && n > std::numeric_limits<uint64_t>::max() / ud)
            throw_input("{}: tensor \"{}\" has more than 2^64 elements", file, name);
        n *= ud;
    }
    if (n > std::numeric_limits<uint64_t>::max() / esize)
        throw_input("{}: tensor \"{}\" ({}) needs more than 2^64 bytes", file, name, describe(info));
    return n * esize;
}

/// The reference writer's dtype ranking (its Dtype enum order); larger ranks are laid out first.
int library_rank(DType d)
{
    switch (d) {
    case DType::boolean: return 0;
    case DType::u8: return 4;
    case DType::i8: return 5;
    case DType::f8_e5m2: return 6;
    case DType::f8_e4m3: return 7;
    case DType::i16: return 11;
    case DType::u16: return 12;
    case DType::f16: return 13;
    case DType::bf16: return 14;
    case DType::i32: return 15;
    case DType::u32: return 16;
    case DType::f32: return 17;
    case DType::c64: return 18;
    case DType::f64: return 19;
    case DType::i64: return 20;
    case DType::u64: return 21;
    case DType::c128: return 22; // not in the reference enum; largest alignment
    case DType::invalid: break;
    }
    return -1;
}

void write_tensor(PieceWriter& out, const NamedTensor& nt, uint64_t nbytes, const std::string& file,
                  const WriteProgress& progress)
{
    try {
        stream_tensor(out, *nt.tensor, nbytes, nullptr, progress);
    } catch (const InputError& e) {
        throw_input("{}: cannot write tensor \"{}\": {}", file, nt.name, e.what());
    }
}

} // namespace

SafetensorsWriteReport write_safetensors(const std::filesystem::path& path,
                                         const std::vector<NamedTensor>& tensors,
                                         const std::vector<std::pair<std::string, std::string>>& metadata,
                                         const WriteProgress& progress)
{
    const std::string file = path.string();
    SafetensorsWriteReport report;

    std::string header = "{";
    if (!metadata.empty()) {
        std::unordered_set<std::string_view> keys;
        header += "\"__metadata__\":{";
        for (size_t i = 0; i < metadata.size(); ++i) {
            const auto& [k, v] = metadata[i];
            if (!keys.insert(k).second)
                throw_input("{}: metadata key \"{}\" given twice", file, k);
            if (!detail::is_valid_utf8(k) || !detail::is_valid_utf8(v))
                throw_input("{}: metadata key \"{}\" or its value is not valid UTF-8", file, k);
            if (i)
                header += ',';
            detail::append_json_string_serde(header, k);
            header += ':';
            detail::append_json_string_serde(header, v);
        }
        header += '}';
    }

    std::vector<Planned> plan;
    plan.reserve(tensors.size());
    std::unordered_set<std::string_view> names;
    std::unordered_map<const TensorData*, const std::string*> first_name;
    uint64_t offset = 0;
    for (const auto& nt : tensors) {
        if (!names.insert(nt.name).second)
            throw_input("{}: tensor name \"{}\" given twice", file, nt.name);
        if (nt.name == "__metadata__")
            throw_input("{}: \"__metadata__\" is reserved by the safetensors format and cannot name a tensor", file);
        if (!detail::is_valid_utf8(nt.name))
            throw_input("{}: tensor name \"{}\" is not valid UTF-8", file, nt.name);
        if (!nt.tensor)
            throw_input("{}: tensor \"{}\" has no data", file, nt.name);
        auto [it, fresh] = first_name.emplace(nt.tensor.get(), &nt.name);
        if (!fresh) {
            report.dropped_aliases.push_back({nt.name, *it->second});
            continue;
        }
        const TensorInfo& info = nt.tensor->info();
        const uint64_t nbytes = checked_nbytes(info, file, nt.name);
        if (offset > std::numeric_limits<uint64_t>::max() - nbytes)
            throw_input("{}: tensors add up to more than 2^64 bytes", file);
        if (header.size() > 1)
            header += ',';
        detail::append_json_string_serde(header, nt.name);
        header += fmt::format(R"(:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                              dtype_name(info.dtype), fmt::join(info.shape, ","), offset, offset + nbytes);
        offset += nbytes;
        plan.push_back({&nt, nbytes});
    }
    header += '}';
    // The data section must start 8-aligned (8-byte prefix + header), as the reference writer does.
    header.append((8 - header.size() % 8) % 8, ' ');

    FileWriter out(path);
    unsigned char prefix[8];
    uint64_t n = header.size();
    for (auto& b : prefix) {
        b = static_cast<unsigned char>(n & 0xFF);
        n >>= 8;
    }
    out.write(prefix, sizeof prefix);
    out.write(header);
    {
        PieceWriter pieces(out);
        for (const auto& p : plan)
            write_tensor(pieces, *p.tensor, p.nbytes, file, progress);
        pieces.finish();
    }
    report.file_size = out.position();
    out.close();
    return report;
}

std::vector<NamedTensor> safetensors_library_order(std::vector<NamedTensor> tensors)
{
    std::stable_sort(tensors.begin(), tensors.end(), [](const NamedTensor& a, const NamedTensor& b) {
        const int ra = a.tensor ? library_rank(a.tensor->info().dtype) : -1;
        const int rb = b.tensor ? library_rank(b.tensor->info().dtype) : -1;
        if (ra != rb)
            return ra > rb;
        return a.name < b.name;
    });
    return tensors;
}

} // namespace ckpt
