// SPDX-License-Identifier: Apache-2.0
// Streams tensors into a safetensors file: header from the tensor infos, then bytes in chunks.
#include "formats/safetensors/safetensors_writer.hpp"

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "formats/safetensors/json_text.hpp"

#include <algorithm>
#include <future>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace ckpt {

namespace {

// Bytes read and written at a time; two pieces are held (one being written, one being read).
constexpr uint64_t kChunk = 8u << 20;
// Pieces at least this large are read in two halves on two threads when the source allows it.
constexpr uint64_t kSplitBytes = 1u << 20;

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

// The data section as a stream of 8 MiB pieces: tensors are read into the free space of the
// current piece, and each full piece is written by a helper thread while the next one is filled,
// so computing (decoding, transposing) and the kernel's copy into the page cache overlap on two
// cores. Small tensors share a piece instead of each waiting for the write before it. Two pieces.
class PieceWriter {
public:
    explicit PieceWriter(FileWriter& out) : m_out(out) {}
    ~PieceWriter()
    {
        if (m_pending.valid())
            m_pending.wait(); // an exception is on its way already; this one's is dropped
    }
    PieceWriter(const PieceWriter&) = delete;
    PieceWriter& operator=(const PieceWriter&) = delete;

    /// Free space in the current piece: up to `want` bytes (at least one when want > 0).
    std::pair<std::byte*, size_t> space(uint64_t want)
    {
        if (m_fill == kChunk)
            submit();
        std::vector<std::byte>& b = m_buffers[m_current];
        if (b.size() < kChunk)
            b.resize(kChunk);
        return {b.data() + m_fill, static_cast<size_t>(std::min<uint64_t>(want, kChunk - m_fill))};
    }
    /// `n` bytes of the last space() are filled.
    void commit(size_t n) { m_fill += n; }
    /// Writes bytes the caller keeps valid (a mapping) after everything before them.
    void write_direct(const void* p, size_t n)
    {
        finish();
        m_out.write(p, n);
    }
    /// Writes what is buffered and waits for it; rethrows a write's error.
    void finish()
    {
        if (m_fill)
            submit();
        if (m_pending.valid())
            m_pending.get();
    }

private:
    // Hands the current piece to the helper thread once the previous one is written.
    void submit()
    {
        if (m_pending.valid())
            m_pending.get();
        const std::byte* p = m_buffers[m_current].data();
        const size_t n = m_fill;
        m_pending = std::async(std::launch::async, [this, p, n] { m_out.write(p, n); });
        m_current ^= 1;
        m_fill = 0;
    }

    FileWriter& m_out;
    std::vector<std::byte> m_buffers[2];
    size_t m_current = 0;
    size_t m_fill = 0;
    std::future<void> m_pending;
};

void write_tensor(PieceWriter& out, const NamedTensor& nt, uint64_t nbytes, const std::string& file,
                  const WriteProgress& progress)
{
    const TensorData& t = *nt.tensor;
    if (const std::byte* p = t.data()) {
        for (uint64_t off = 0; off < nbytes; off += kChunk) {
            const uint64_t len = std::min(kChunk, nbytes - off);
            out.write_direct(p + off, static_cast<size_t>(len));
            if (progress)
                progress(len);
        }
        return;
    }
    // A source that can be read from two threads at once (computed from mapped bytes: a transpose
    // of stored chunks, say) is read half here and half on a helper thread, beneath wrappers that
    // only count its bytes (they are told).
    const TensorData& source = stored_source(t);
    const bool halves = source.concurrent_reads();
    const uint64_t es = std::max<uint64_t>(1, dtype_size(t.info().dtype));
    for (uint64_t off = 0; off < nbytes;) {
        const auto [buf, len] = out.space(nbytes - off);
        try {
            const uint64_t half = len >= kSplitBytes ? len / 2 / es * es : 0;
            if (halves && half != 0) {
                auto second = std::async(std::launch::async, [&, buf = buf, len = len] {
                    source.read(off + half, buf + half, len - half);
                });
                try {
                    source.read(off, buf, half);
                } catch (...) {
                    second.wait();
                    throw;
                }
                second.get();
                t.note_bytes_copied(len);
            } else {
                t.read(off, buf, len);
            }
        } catch (const InputError& e) {
            throw_input("{}: cannot write tensor \"{}\": {}", file, nt.name, e.what());
        }
        out.commit(len);
        if (progress)
            progress(len);
        off += len;
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
