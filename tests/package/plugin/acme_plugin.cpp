// SPDX-License-Identifier: Apache-2.0
// The example of docs/writing-a-plugin.md: a plugin with a private checkpoint format, `acme-1`
// (reader and writer), and a model, `acme`, converted between acme-1, hf and cs-2.1 .. cs-2.3.
//
// acme-1 is a single little-endian file:
//   "ACME-1\n\0"                                   8 bytes of magic
//   u64 count                                      number of tensors
//   per tensor: u32 name size, name bytes, i32 dtype (CKPT_DTYPE_*), u32 rank, i64 dims[rank]
//   the bytes of every tensor, C-contiguous, in the order above
// The acme model stores 2-D weights transposed (column-major) and its config carries
// `acme_format: 1`; everything else is the Hugging Face layout.
#include <ckptconv/cpp/plugin.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

using ckpt::sdk::ConstNode;
using ckpt::sdk::Error;
using ckpt::sdk::Node;
using ckpt::sdk::Plan;
using ckpt::sdk::Request;

constexpr char kMagic[8] = {'A', 'C', 'M', 'E', '-', '1', '\n', '\0'};

// ---- the acme-1 reader ---------------------------------------------------------------------

struct AcmeTensor {
    std::string name;
    ckpt_dtype dtype = CKPT_DTYPE_INVALID;
    std::vector<int64_t> shape;
    uint64_t nbytes = 0;
    uint64_t offset = 0; // into AcmeFile::bytes
};

struct AcmeFile {
    std::string bytes; // the whole file: fine for an example, a real format would map it
    std::vector<AcmeTensor> tensors;
};

/// Reads `n` bytes at `pos` into `out`, or throws naming the file as truncated.
void take(const std::string& bytes, size_t& pos, void* out, size_t n)
{
    if (n > bytes.size() - pos)
        throw Error(CKPT_ERR_BAD_INPUT, "acme-1 file is truncated");
    std::memcpy(out, bytes.data() + pos, n);
    pos += n;
}

AcmeFile* parse(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(CKPT_ERR_IO, "cannot open " + path);
    auto file = std::make_unique<AcmeFile>();
    file->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    size_t pos = sizeof kMagic;
    uint64_t count = 0;
    take(file->bytes, pos, &count, sizeof count);
    if (count > file->bytes.size())
        throw Error(CKPT_ERR_BAD_INPUT, "acme-1 tensor count is implausible");
    for (uint64_t i = 0; i < count; ++i) {
        AcmeTensor t;
        uint32_t name_size = 0, rank = 0;
        take(file->bytes, pos, &name_size, sizeof name_size);
        if (name_size > file->bytes.size() - pos)
            throw Error(CKPT_ERR_BAD_INPUT, "acme-1 file is truncated");
        t.name.assign(file->bytes, pos, name_size);
        pos += name_size;
        take(file->bytes, pos, &t.dtype, sizeof t.dtype);
        take(file->bytes, pos, &rank, sizeof rank);
        if (rank > CKPT_MAX_RANK || ckpt_dtype_size(t.dtype) == 0)
            throw Error(CKPT_ERR_BAD_INPUT, "acme-1 tensor '" + t.name + "' has a bad rank or dtype");
        t.shape.resize(rank);
        t.nbytes = ckpt_dtype_size(t.dtype);
        for (auto& d : t.shape) {
            take(file->bytes, pos, &d, sizeof d);
            if (d < 0)
                throw Error(CKPT_ERR_BAD_INPUT, "acme-1 tensor '" + t.name + "' has a negative dimension");
            t.nbytes *= static_cast<uint64_t>(d);
        }
        file->tensors.push_back(std::move(t));
    }
    for (auto& t : file->tensors) {
        if (t.nbytes > file->bytes.size() - pos)
            throw Error(CKPT_ERR_BAD_INPUT, "acme-1 data of '" + t.name + "' is truncated");
        t.offset = pos;
        pos += t.nbytes;
    }
    return file.release();
}

int32_t acme_identify(void*, const void* head, size_t size, ckpt_str) noexcept
{
    return size >= sizeof kMagic && std::memcmp(head, kMagic, sizeof kMagic) == 0 ? 1 : 0;
}

ckpt_status acme_open_source(void*, const ckpt_host* host, ckpt_str path, ckpt_tensor_source* out) noexcept
{
    return ckpt::sdk::guard(host, [&] {
        out->struct_size = sizeof *out;
        out->ctx = parse(ckpt::sdk::from_str(path));
        out->count = [](void* ctx) noexcept { return static_cast<AcmeFile*>(ctx)->tensors.size(); };
        out->info = [](void* ctx, size_t i, ckpt_tensor_info* info) noexcept -> ckpt_status {
            const AcmeTensor& t = static_cast<AcmeFile*>(ctx)->tensors[i];
            info->rank = static_cast<uint32_t>(t.shape.size());
            info->name = ckpt_str{t.name.data(), t.name.size()};
            info->dtype = t.dtype;
            info->shape = t.shape.data();
            info->nbytes = t.nbytes;
            return CKPT_OK;
        };
        out->read = [](void* ctx, size_t i, uint64_t offset, void* dst, uint64_t size) noexcept -> ckpt_status {
            const AcmeFile* f = static_cast<AcmeFile*>(ctx);
            std::memcpy(dst, f->bytes.data() + f->tensors[i].offset + offset, size);
            return CKPT_OK;
        };
        out->map = [](void* ctx, size_t i, const void** data) noexcept -> ckpt_status {
            const AcmeFile* f = static_cast<AcmeFile*>(ctx);
            *data = f->bytes.data() + f->tensors[i].offset;
            return CKPT_OK;
        };
        out->close = [](void* ctx) noexcept { delete static_cast<AcmeFile*>(ctx); };
    });
}

// ---- the acme-1 writer ---------------------------------------------------------------------

struct AcmeWriter {
    std::string path;
    std::ofstream out;
};

template <class T>
void put(std::ofstream& out, const T& value)
{
    out.write(reinterpret_cast<const char*>(&value), sizeof value);
}

ckpt_status acme_open_sink(void*, const ckpt_host* host, ckpt_str path, ckpt_tensor_sink* out) noexcept
{
    return ckpt::sdk::guard(host, [&] {
        auto w = std::make_unique<AcmeWriter>();
        w->path = ckpt::sdk::from_str(path);
        w->out.open(w->path, std::ios::binary | std::ios::trunc);
        if (!w->out)
            throw Error(CKPT_ERR_IO, "cannot create " + w->path);
        out->struct_size = sizeof *out;
        out->ctx = w.release();
        // The host gives the whole inventory first: the header is written at once.
        out->begin = [](void* ctx, size_t count, const ckpt_tensor_info* const* infos) noexcept -> ckpt_status {
            std::ofstream& o = static_cast<AcmeWriter*>(ctx)->out;
            o.write(kMagic, sizeof kMagic);
            put(o, static_cast<uint64_t>(count));
            for (size_t i = 0; i < count; ++i) {
                const ckpt_tensor_info& t = *infos[i];
                put(o, static_cast<uint32_t>(t.name.size));
                o.write(t.name.data, static_cast<std::streamsize>(t.name.size));
                put(o, t.dtype);
                put(o, t.rank);
                for (uint32_t d = 0; d < t.rank; ++d)
                    put(o, t.shape[d]);
            }
            return o ? CKPT_OK : CKPT_ERR_IO;
        };
        // Chunks arrive in inventory order and ascending offsets: appending is enough.
        out->write = [](void* ctx, size_t, uint64_t, const void* data, uint64_t size) noexcept -> ckpt_status {
            std::ofstream& o = static_cast<AcmeWriter*>(ctx)->out;
            o.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
            return o ? CKPT_OK : CKPT_ERR_IO;
        };
        out->commit = [](void* ctx) noexcept -> ckpt_status {
            auto* writer = static_cast<AcmeWriter*>(ctx);
            writer->out.close();
            const bool ok = !writer->out.fail();
            if (!ok)
                std::remove(writer->path.c_str());
            delete writer;
            return ok ? CKPT_OK : CKPT_ERR_IO;
        };
        out->abort = [](void* ctx) noexcept {
            auto* writer = static_cast<AcmeWriter*>(ctx);
            writer->out.close();
            std::remove(writer->path.c_str()); // abort leaves nothing behind
            delete writer;
        };
    });
}

const ckpt_container kAcmeFormat = {
    sizeof(ckpt_container), 0, {"acme-1", 6}, {"Acme checkpoint, version 1 (example)", 36}, nullptr,
    acme_identify, acme_open_source, acme_open_sink,
};

// ---- the acme model ------------------------------------------------------------------------

/// Copies every config key, except `skip`.
void copy_config(ConstNode src, Node dst, const std::string& skip)
{
    for (size_t i = 0; i < src.size(); ++i)
        if (src.key_at(i) != skip)
            dst.entry(src.key_at(i)).assign(src.value_at(i));
}

/// hf <-> acme-1: 2-D weights transposed, the config marked as acme's.
class AcmeHf : public ckpt::sdk::Converter {
public:
    AcmeHf() : Converter({"hf"}, {"acme-1"}, "hf AcmeLM <-> acme-1 AcmeLM (2-D weights column-major)") {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        copy_config(src, dst, "acme_format");
        if (req.direction == 0) // hf -> acme-1
            dst.entry("acme_format").set(1);
    }

    void plan_checkpoint(const Request&, ConstNode, ConstNode, Plan& plan) override
    {
        // A transpose is its own inverse, so the same plan serves both directions.
        for (const std::string& name : plan.input_names()) {
            const ckpt_value_id in = plan.input(name);
            if (plan.value_info(in).shape.size() == 2)
                plan.transpose(name, in);
            else
                plan.copy(name, in);
        }
    }
};

/// hf <-> cs-2.1 .. cs-2.3: the same names and config keys on both sides.
class AcmeCs : public ckpt::sdk::Converter {
public:
    AcmeCs() : Converter({"hf"}, {"cs-2.1", "cs-2.2", "cs-2.3"}, "hf AcmeLM <-> cs AcmeLM (same names)") {}

    void convert_config(const Request&, ConstNode src, Node dst) override { copy_config(src, dst, ""); }

    void plan_checkpoint(const Request&, ConstNode, ConstNode, Plan& plan) override
    {
        for (const std::string& name : plan.input_names())
            plan.copy(name, plan.input(name));
    }
};

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("acme", "1.0", "Acme checkpoints (example plugin)");
    def.model("acme", {"acme-lm"}).add(std::make_shared<AcmeHf>()).add(std::make_shared<AcmeCs>());
    def.container(&kAcmeFormat);
}
