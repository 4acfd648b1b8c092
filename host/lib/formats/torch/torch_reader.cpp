// SPDX-License-Identifier: Apache-2.0
// torch.save files to Checkpoints: storages from zip records, tensors from rebuild calls.
#include "formats/torch/torch_reader.hpp"

#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/torch/pickle.hpp"
#include "formats/torch/torch_dtypes.hpp"
#include "formats/torch/zip_reader.hpp"

#include <cstring>
#include <map>

namespace ckpt {

namespace {

constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

/// A tensor that is a strided view of a storage: gathers its elements in C order on read.
/// The constructor's caller has validated that every addressed element lies in the storage.
class StridedTensor final : public TensorData {
public:
    StridedTensor(TensorInfo info, std::vector<int64_t> stride, const std::byte* base,
                  std::shared_ptr<const void> owner)
        : m_info(std::move(info)), m_stride(std::move(stride)), m_base(base), m_owner(std::move(owner)),
          m_es(dtype_size(m_info.dtype))
    {
    }
    const TensorInfo& info() const override { return m_info; }

    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        const uint64_t total = m_info.nbytes();
        if (offset > total || size > total - offset)
            throw_input("read of {} bytes at offset {} is outside a tensor of {} bytes", size, offset, total);
        if (size == 0)
            return;
        const size_t rank = m_info.shape.size();
        if (rank == 0) {
            std::memcpy(dst, m_base + offset, size);
            return;
        }
        const uint64_t inner = static_cast<uint64_t>(m_info.shape[rank - 1]);
        const uint64_t row_bytes = inner * m_es;
        const int64_t inner_stride = m_stride[rank - 1];
        const uint64_t end = offset + size;
        uint64_t row = offset / row_bytes;
        // Odometer over the outer dimensions, started at `row`.
        std::vector<int64_t> idx(rank - 1, 0);
        {
            uint64_t r = row;
            for (size_t d = rank - 1; d-- > 0;) {
                const auto n = static_cast<uint64_t>(m_info.shape[d]);
                idx[d] = static_cast<int64_t>(r % n);
                r /= n;
            }
        }
        for (; row * row_bytes < end; ++row) {
            int64_t row_base = 0;
            for (size_t d = 0; d + 1 < rank; ++d)
                row_base += idx[d] * m_stride[d];
            const uint64_t row_start = row * row_bytes;
            const uint64_t lo = std::max(offset, row_start);
            const uint64_t hi = std::min(end, row_start + row_bytes);
            std::byte* out = dst + (lo - offset);
            if (inner_stride == 1) {
                std::memcpy(out, m_base + static_cast<uint64_t>(row_base) * m_es + (lo - row_start), hi - lo);
            } else {
                for (uint64_t b = lo; b < hi;) {
                    const uint64_t j = (b - row_start) / m_es;
                    const uint64_t within = (b - row_start) % m_es;
                    const uint64_t n = std::min(m_es - within, hi - b);
                    const uint64_t src = (static_cast<uint64_t>(row_base) + j * static_cast<uint64_t>(inner_stride)) * m_es;
                    std::memcpy(dst + (b - offset), m_base + src + within, n);
                    b += n;
                }
            }
            for (size_t d = rank - 1; d-- > 0;) {
                if (++idx[d] < m_info.shape[d])
                    break;
                idx[d] = 0;
            }
        }
    }

private:
    TensorInfo m_info;
    std::vector<int64_t> m_stride;
    const std::byte* m_base;
    std::shared_ptr<const void> m_owner;
    uint64_t m_es;
};

struct Storage {
    DType dtype = DType::invalid; // element type the storage was saved with (u8 for untyped)
    const std::byte* bytes = nullptr;
    uint64_t nbytes = 0;
};

/// Everything one read needs: where storages come from and the tensors built so far.
class TorchLoader {
public:
    TorchLoader(std::string name, std::shared_ptr<const void> owner)
        : m_name(std::move(name)), m_owner(std::move(owner))
    {
    }

    /// Returns the bytes of storage `key` (at least `nbytes`), or throws.
    std::function<Storage(const std::string& key, DType dtype, uint64_t nbytes)> fetch;

    pickle::Hooks hooks()
    {
        pickle::Hooks h;
        h.persistent_load = [this](const Node& pid) { return persistent_load(pid); };
        h.reduce = [this](const std::string& callable, const Node& args) { return reduce(callable, args); };
        return h;
    }

private:
    Node persistent_load(const Node& pid)
    {
        if (pid.kind() != Node::Kind::tuple || pid.size() < 5 || pid.items()[0].kind() != Node::Kind::string ||
            pid.items()[0].as_string() != "storage")
            throw_input("{}: unsupported persistent id (expected ('storage', type, key, location, numel))",
                        m_name);
        const auto& it = pid.items();
        const std::string type = pickle::global_name(it[1]);
        const auto dt = torch_storage_dtype(type);
        if (!dt)
            throw_input("{}: storage type '{}' is not supported (expected a torch.<X>Storage of a plain dtype)",
                        m_name, type.empty() ? std::string(Node::kind_name(it[1].kind())) : type);
        if (it[2].kind() != Node::Kind::string && it[2].kind() != Node::Kind::integer)
            throw_input("{}: storage key is a {}, expected a string", m_name, Node::kind_name(it[2].kind()));
        const std::string key = Node::key_text(it[2]);
        if (it[4].kind() != Node::Kind::integer || it[4].as_int() < 0)
            throw_input("{}: storage '{}': element count is not a non-negative integer", m_name, key);
        const uint64_t numel = static_cast<uint64_t>(it[4].as_int());
        uint64_t nbytes = 0;
        if (__builtin_mul_overflow(numel, dtype_size(*dt), &nbytes))
            throw_input("{}: storage '{}': {} elements overflow 64 bits", m_name, key, numel);

        std::string full_key = key;
        // Legacy files: a 6th item (view_key, offset, size) makes this a view of `key`.
        uint64_t view_offset = 0;
        bool view = false;
        if (pid.size() >= 6 && !it[5].is_null()) {
            const Node& vm = it[5];
            if (!vm.is_sequence() || vm.size() != 3)
                throw_input("{}: storage '{}': malformed view metadata", m_name, key);
            const int64_t off = vm.items()[1].as_int();
            const int64_t sz = vm.items()[2].as_int();
            if (off < 0 || sz < 0)
                throw_input("{}: storage '{}': negative view offset or size", m_name, key);
            view = true;
            view_offset = static_cast<uint64_t>(off);
            full_key = key + "/view:" + Node::key_text(vm.items()[0]);
            if (__builtin_mul_overflow(static_cast<uint64_t>(sz), dtype_size(*dt), &nbytes))
                throw_input("{}: storage '{}': view size overflows", m_name, key);
        }

        auto found = m_storages.find(full_key);
        if (found == m_storages.end()) {
            Storage s;
            if (view) {
                uint64_t base_bytes = 0;
                if (__builtin_mul_overflow(numel, dtype_size(*dt), &base_bytes))
                    throw_input("{}: storage '{}' overflows", m_name, key);
                Storage whole = fetch(key, *dt, base_bytes);
                uint64_t off_bytes = 0;
                if (__builtin_mul_overflow(view_offset, dtype_size(*dt), &off_bytes) || off_bytes > whole.nbytes ||
                    nbytes > whole.nbytes - off_bytes)
                    throw_input("{}: storage '{}': view (offset {}, {} bytes) is outside the storage of {} bytes",
                                m_name, key, view_offset, nbytes, whole.nbytes);
                s = whole;
                s.bytes = whole.bytes + off_bytes;
                s.nbytes = nbytes;
            } else {
                s = fetch(key, *dt, nbytes);
                s.nbytes = nbytes;
            }
            s.dtype = *dt;
            found = m_storages.emplace(full_key, s).first;
        }
        Opaque o;
        o.type = "ckpt.torch_storage";
        o.raw = full_key;
        return Node(std::move(o));
    }

    const Storage& storage_of(const Node& n, const std::string& callable)
    {
        if (n.kind() != Node::Kind::opaque || n.as_opaque().type != "ckpt.torch_storage")
            throw_input("{}: {}: first argument is a {}, expected a storage", m_name, callable,
                        n.kind() == Node::Kind::opaque ? n.as_opaque().type : std::string(Node::kind_name(n.kind())));
        return m_storages.at(n.as_opaque().raw);
    }

    std::vector<int64_t> int_tuple(const Node& n, const std::string& callable, const char* what)
    {
        // torch.Size(...) arrives already interpreted as a tuple.
        if (!n.is_sequence())
            throw_input("{}: {}: {} is a {}, expected a tuple of integers", m_name, callable, what,
                        Node::kind_name(n.kind()));
        std::vector<int64_t> v;
        for (const auto& x : n.items()) {
            if (x.kind() != Node::Kind::integer)
                throw_input("{}: {}: {} holds a {}, expected integers", m_name, callable, what,
                            Node::kind_name(x.kind()));
            v.push_back(x.as_int());
        }
        return v;
    }

    Node rebuild_tensor(const std::string& callable, const Node& args, std::optional<DType> dtype_override)
    {
        const auto& a = args.items();
        const Storage& st = storage_of(a[0], callable);
        const std::string& skey = a[0].as_opaque().raw;
        if (a[1].kind() != Node::Kind::integer || a[1].as_int() < 0)
            throw_input("{}: tensor over storage '{}': storage offset is not a non-negative integer", m_name, skey);
        const auto offset = static_cast<uint64_t>(a[1].as_int());
        TensorInfo info;
        info.dtype = dtype_override ? *dtype_override : st.dtype;
        info.shape = int_tuple(a[2], callable, "size");
        const std::vector<int64_t> stride = int_tuple(a[3], callable, "stride");
        if (stride.size() != info.shape.size())
            throw_input("{}: tensor over storage '{}': {} sizes but {} strides", m_name, skey, info.shape.size(),
                        stride.size());
        uint64_t numel = 1;
        for (size_t d = 0; d < info.shape.size(); ++d) {
            if (info.shape[d] < 0 || stride[d] < 0)
                throw_input("{}: tensor over storage '{}': negative size or stride in dimension {}", m_name, skey, d);
            if (__builtin_mul_overflow(numel, static_cast<uint64_t>(info.shape[d]), &numel))
                throw_input("{}: tensor over storage '{}': shape overflows 64 bits", m_name, skey);
        }
        const uint64_t es = dtype_size(info.dtype);
        uint64_t logical_bytes = 0;
        if (__builtin_mul_overflow(numel, es, &logical_bytes) || logical_bytes > (uint64_t{1} << 56))
            throw_input("{}: tensor over storage '{}' claims {} elements of {} bytes, more than any checkpoint "
                        "holds",
                        m_name, skey, numel, es);

        std::string cache_key = fmt::format("{}|{}|{}|{}|{}", skey, static_cast<int>(info.dtype), offset,
                                            fmt::join(info.shape, ","), fmt::join(stride, ","));
        if (auto it = m_tensors.find(cache_key); it != m_tensors.end())
            return Node(it->second);

        TensorPtr t;
        if (numel == 0) {
            t = std::make_shared<MemoryTensor>(info, std::vector<std::byte>{});
        } else {
            // Highest element addressed: offset + sum((size - 1) * stride), checked for overflow.
            uint64_t last = offset;
            for (size_t d = 0; d < info.shape.size(); ++d) {
                uint64_t span = 0;
                if (__builtin_mul_overflow(static_cast<uint64_t>(info.shape[d] - 1), static_cast<uint64_t>(stride[d]),
                                           &span) ||
                    __builtin_add_overflow(last, span, &last))
                    throw_input("{}: tensor over storage '{}': strides overflow 64 bits", m_name, skey);
            }
            uint64_t end_bytes = 0;
            if (__builtin_add_overflow(last, uint64_t{1}, &end_bytes) ||
                __builtin_mul_overflow(end_bytes, es, &end_bytes) || end_bytes > st.nbytes)
                throw_input("{}: tensor {} over storage '{}' (offset {}, strides [{}]) reaches past the storage "
                            "of {} bytes",
                            m_name, describe(info), skey, offset, fmt::join(stride, ", "), st.nbytes);
            bool contiguous = true;
            int64_t expect = 1;
            for (size_t d = info.shape.size(); d-- > 0;) {
                if (info.shape[d] != 1 && stride[d] != expect)
                    contiguous = false;
                expect *= info.shape[d];
            }
            const std::byte* base = st.bytes + offset * es;
            if (contiguous)
                t = std::make_shared<SpanTensor>(info, base, m_owner);
            else
                t = std::make_shared<StridedTensor>(info, stride, base, m_owner);
        }
        m_tensors.emplace(std::move(cache_key), t);
        return Node(t);
    }

    std::optional<Node> reduce(const std::string& callable, const Node& args)
    {
        const size_t n = args.size();
        if (callable == "torch._utils._rebuild_tensor_v2" || callable == "torch._utils._rebuild_tensor") {
            if (n < 4)
                throw_input("{}: {} called with {} arguments, expected at least 4", m_name, callable, n);
            return rebuild_tensor(callable, args, std::nullopt);
        }
        if (callable == "torch._utils._rebuild_tensor_v3") {
            if (n < 7)
                throw_input("{}: {} called with {} arguments, expected at least 7", m_name, callable, n);
            const std::string dn = pickle::global_name(args.items()[6]);
            const auto dt = torch_dtype(dn);
            if (!dt)
                throw_input("{}: {}: dtype '{}' is not supported", m_name, callable, dn);
            return rebuild_tensor(callable, args, *dt);
        }
        if (callable == "torch._utils._rebuild_parameter" || callable == "torch._utils._rebuild_parameter_with_state" ||
            callable == "torch._utils._rebuild_device_tensor_from_cpu_tensor") {
            if (n >= 1 && args.items()[0].is_tensor())
                return args.items()[0];
            return std::nullopt;
        }
        if (callable == "torch._tensor._rebuild_from_type_v2" || callable == "torch._tensor._rebuild_from_type") {
            // (func, new_type, args, state): a tensor subclass around func(*args).
            if (n >= 3 && args.items()[2].kind() == Node::Kind::tuple) {
                if (auto v = reduce(pickle::global_name(args.items()[0]), args.items()[2]))
                    return v;
            }
            return std::nullopt;
        }
        if (callable == "torch.Size") {
            if (n == 1 && args.items()[0].is_sequence()) {
                Node t = Node::tuple();
                for (const auto& x : args.items()[0].items())
                    t.push_back(x);
                return t;
            }
            if (n == 0)
                return Node::tuple();
        }
        return std::nullopt;
    }

    std::string m_name;
    std::shared_ptr<const void> m_owner;
    std::map<std::string, Storage> m_storages;
    std::map<std::string, TensorPtr> m_tensors;
};

uint64_t parse_version(std::string_view s, const std::string& name, const std::string& record)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.remove_suffix(1);
    uint64_t v = 0;
    if (s.empty() || s.size() > 18)
        throw_input("{}: record '{}' is not a version number", name, record);
    for (char c : s) {
        if (c < '0' || c > '9')
            throw_input("{}: record '{}' is not a version number (found '{}')", name, record, s);
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}

Checkpoint read_zip(std::shared_ptr<const void> owner, const std::byte* data, size_t size, const std::string& name)
{
    const ZipDirectory dir = parse_zip_directory(data, size, name);
    auto record = [&](const ZipEntry& e) { return zip_entry_bytes(e, data, size, name); };

    const ZipEntry* ver = dir.find_record(".data/version");
    std::string ver_name = ".data/version";
    if (!ver) {
        ver = dir.find_record("version");
        ver_name = "version";
    }
    if (!ver)
        throw_input("{}: the archive '{}' has no 'version' record; not a torch.save file", name, dir.archive_name);
    const uint64_t version = parse_version(record(*ver), name, ver_name);
    if (version == 0 || version > 20)
        throw_input("{}: unsupported torch file format version {} (expected 1 to 20)", name, version);
    if (const ZipEntry* bo = dir.find_record("byteorder")) {
        std::string_view b = record(*bo);
        if (b != "little")
            throw_input("{}: byteorder record says '{}'; only little-endian checkpoints are supported", name, b);
    }
    const ZipEntry* pkl = dir.find_record("data.pkl");
    if (!pkl)
        throw_input("{}: the archive '{}' has no 'data.pkl' record; not a torch.save file", name, dir.archive_name);
    const std::string_view pickle_bytes = record(*pkl);

    TorchLoader loader(name, owner);
    loader.fetch = [&](const std::string& key, DType, uint64_t nbytes) {
        const ZipEntry* e = dir.find_record("data/" + key);
        if (!e)
            throw_input("{}: storage record 'data/{}' is missing from the archive", name, key);
        const std::string_view b = record(*e);
        if (b.size() < nbytes)
            throw_input("{}: storage record 'data/{}' has {} bytes, expected {}", name, key, b.size(), nbytes);
        return Storage{DType::invalid, reinterpret_cast<const std::byte*>(b.data()), nbytes};
    };
    Checkpoint ck;
    ck.format = "pytorch";
    ck.root = pickle::unpickle(pickle_bytes, name + " (data.pkl)", loader.hooks());
    return ck;
}

Checkpoint read_legacy(std::shared_ptr<const void> owner, const std::byte* data, size_t size, const std::string& name)
{
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    size_t pos = 0;
    auto next = [&](const char* what, const pickle::Hooks& hooks) {
        auto [v, used] = pickle::unpickle_prefix(all.substr(pos), name + " (" + what + ")", hooks);
        pos += used;
        return v;
    };
    const Node magic = next("magic number", {});
    if (magic.kind() != Node::Kind::opaque ||
        magic.as_opaque().raw != std::string(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic))
        throw_input("{}: not a torch file: the legacy magic number is missing", name);
    const Node proto = next("protocol version", {});
    if (proto.kind() != Node::Kind::integer || proto.as_int() != 1001)
        throw_input("{}: unsupported legacy torch protocol version (expected 1001)", name);
    const Node sys = next("sys info", {});
    if (const Node* le = sys.is_map() ? sys.find("little_endian") : nullptr; le && le->kind() == Node::Kind::boolean &&
                                                                            !le->as_bool())
        throw_input("{}: the checkpoint was saved on a big-endian machine; not supported", name);

    // Pass 1 finds where the object pickle ends and which storages it uses; the storages' bytes
    // follow the key list, so tensors can only be built in pass 2.
    const size_t object_pos = pos;
    struct Meta {
        DType dtype;
        uint64_t numel;
    };
    std::map<std::string, Meta> metas;
    pickle::Hooks scan;
    scan.persistent_load = [&](const Node& pid) {
        if (pid.kind() == Node::Kind::tuple && pid.size() >= 5) {
            const auto dt = torch_storage_dtype(pickle::global_name(pid.items()[1]));
            if (dt && pid.items()[4].kind() == Node::Kind::integer && pid.items()[4].as_int() >= 0)
                metas[Node::key_text(pid.items()[2])] = Meta{*dt, static_cast<uint64_t>(pid.items()[4].as_int())};
        }
        return Node();
    };
    next("object", scan);
    const Node keys = next("storage keys", {});
    if (!keys.is_sequence())
        throw_input("{}: the legacy storage key list is a {}, expected a list", name, Node::kind_name(keys.kind()));

    std::map<std::string, Storage> located;
    for (const auto& k : keys.items()) {
        const std::string key = Node::key_text(k);
        auto m = metas.find(key);
        if (m == metas.end())
            throw_input("{}: legacy storage '{}' is listed but never used by the object", name, key);
        if (size - pos < 8)
            throw_input("{}: truncated: legacy storage '{}' has no element count", name, key);
        uint64_t count = 0;
        for (int i = 7; i >= 0; --i)
            count = (count << 8) | static_cast<uint8_t>(all[pos + static_cast<size_t>(i)]);
        pos += 8;
        uint64_t nbytes = 0;
        if (__builtin_mul_overflow(count, dtype_size(m->second.dtype), &nbytes) || nbytes > size - pos)
            throw_input("{}: truncated: legacy storage '{}' needs {} elements of {} bytes, {} bytes remain", name,
                        key, count, dtype_size(m->second.dtype), size - pos);
        located[key] = Storage{m->second.dtype, data + pos, nbytes};
        pos += nbytes;
    }

    TorchLoader loader(name, owner);
    loader.fetch = [&](const std::string& key, DType, uint64_t nbytes) {
        auto it = located.find(key);
        if (it == located.end())
            throw_input("{}: legacy storage '{}' is not in the file", name, key);
        if (it->second.nbytes < nbytes)
            throw_input("{}: legacy storage '{}' has {} bytes, expected {}", name, key, it->second.nbytes, nbytes);
        return it->second;
    };
    Checkpoint ck;
    ck.format = "pytorch-legacy";
    ck.root = pickle::unpickle(all.substr(object_pos), name + " (object)", loader.hooks());
    return ck;
}

} // namespace

bool is_torch_zip(std::string_view head) { return head.size() >= 4 && head.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

bool is_torch_legacy(std::string_view head)
{
    // PROTO 2, LONG1 of 10 bytes, the magic number.
    return head.size() >= 14 && static_cast<unsigned char>(head[0]) == 0x80 &&
           static_cast<unsigned char>(head[2]) == 0x8a && static_cast<unsigned char>(head[3]) == 10 &&
           std::memcmp(head.data() + 4, kLegacyMagic, sizeof kLegacyMagic) == 0;
}

Checkpoint read_torch_buffer(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                             const std::string& name)
{
    const std::string_view head(reinterpret_cast<const char*>(data), std::min<size_t>(size, 16));
    if (is_torch_zip(head))
        return read_zip(std::move(owner), data, size, name);
    if (is_torch_legacy(head))
        return read_legacy(std::move(owner), data, size, name);
    throw_input("{}: not a torch.save file (expected a zip archive starting with 'PK\\x03\\x04' or the legacy "
                "pickled magic number)",
                name);
}

Checkpoint read_torch(const std::filesystem::path& path)
{
    auto file = MappedFile::open(path);
    Checkpoint ck = read_torch_buffer(file, file->data(), file->size(), path.string());
    ck.files.push_back(path);
    return ck;
}

} // namespace ckpt
