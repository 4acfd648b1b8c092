// SPDX-License-Identifier: Apache-2.0
// Reads `.mdl` checkpoints: HDF5 layout 0.4 (pickled spec + typed root datasets), the cs-2.5+
// layout (JSON spec + per-key metadata) and torch pickles, into one Node tree.
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mapped_file.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/mdl_layout5.hpp"
#include "formats/mdl/mdl_names.hpp"
#include "formats/mdl/mdl_reader.hpp"
#include "formats/mdl/tree_spec.hpp"
#include "formats/mdl/torch_bridge.hpp"
#include "formats/torch/pickle.hpp"

#include <cstring>

namespace ckpt {

namespace {

constexpr std::string_view kHdf5Signature{"\211HDF\r\n\032\n", 8};
constexpr size_t kMaxRank = 32; // H5S_MAX_RANK
constexpr int kMaxLinkDepth = 8;

bool starts_with(std::string_view s, std::string_view p)
{
    return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

} // namespace

bool is_hdf5(std::string_view head)
{
    if (starts_with(head, kHdf5Signature))
        return true;
    for (size_t off = 512; off < head.size(); off *= 2)
        if (starts_with(head.substr(off), kHdf5Signature))
            return true;
    return false;
}

namespace detail {

using H5Lock = std::lock_guard<std::recursive_mutex>;

Reader::Reader(std::shared_ptr<const H5File> file) : m_file(std::move(file)), m_name(m_file->path().string()) {}

bool Reader::has_dataset(const std::string& name) const
{
    if (name.empty() || name == "." || name == "..")
        return false;
    return h5_hard_path_exists(m_file->id(), name, m_name);
}

H5Id Reader::open_dataset(const std::string& name, const std::string& key) const
{
    if (!h5_hard_path_exists(m_file->id(), name, fmt::format("{}: key '{}'", m_name, key)))
        throw_input("{}: key '{}': there is no dataset '{}'", m_name, key, name);
    H5O_info_t info{};
    if (H5Oget_info_by_name2(m_file->id(), name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        throw_input("{}: key '{}': cannot open dataset '{}': {}", m_name, key, name, h5_error_text());
    if (info.type != H5O_TYPE_DATASET)
        throw_input("{}: key '{}': '{}' should be a dataset, found a group or other object", m_name, key, name);
    H5Id dset = h5_check(H5Dopen2(m_file->id(), name.c_str(), H5P_DEFAULT),
                         fmt::format("{}: key '{}': cannot open dataset '{}'", m_name, key, name));
    h5_require_local_storage(dset.get(), fmt::format("{}: key '{}' (dataset '{}')", m_name, key, name));
    return dset;
}

TensorPtr Reader::tensor(hid_t dset, const std::string& name, const std::string& key, bool is_bf16) const
{
    const std::string where = fmt::format("{}: key '{}' (dataset '{}')", m_name, key, name);
    H5Id space = h5_check(H5Dget_space(dset), where);
    const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
    if (cls == H5S_NULL)
        throw_input("{}: expected a tensor, found an empty dataset", where);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || static_cast<size_t>(rank) > kMaxRank)
        throw_input("{}: implausible rank {}", where, rank);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
        throw_input("{}: {}", where, h5_error_text());
    H5Id type = h5_check(H5Dget_type(dset), where);
    TensorInfo info;
    info.dtype = dtype_of_h5_type(type.get(), is_bf16, where);
    for (hsize_t d : dims) {
        if (d > static_cast<hsize_t>(INT64_MAX))
            throw_input("{}: dimension {} is too large", where, d);
        info.shape.push_back(static_cast<int64_t>(d));
    }
    uint64_t nbytes = 0;
    try {
        nbytes = info.numel();
        if (nbytes > UINT64_MAX / dtype_size(info.dtype))
            throw_input("size overflows");
        nbytes *= dtype_size(info.dtype);
    } catch (const InputError&) {
        throw_input("{}: shape [{}] is too large", where, fmt::join(info.shape, ", "));
    }
    // A contiguous dataset that was written holds exactly its bytes; anything else is damage.
    H5Id dcpl = h5_check(H5Dget_create_plist(dset), where);
    if (H5Pget_layout(dcpl.get()) == H5D_CONTIGUOUS) {
        const hsize_t stored = H5Dget_storage_size(dset);
        if (stored != 0 && stored != nbytes)
            throw_input("{}: dataset stores {} bytes but {} needs {}", where, stored, describe(info), nbytes);
    }
    return std::make_shared<H5DatasetTensor>(m_file, name, std::move(info));
}

Node Reader::scalar(hid_t dset, const std::string& name, const std::string& key) const
{
    const std::string where = fmt::format("{}: key '{}' (dataset '{}')", m_name, key, name);
    H5Id space = h5_check(H5Dget_space(dset), where);
    if (H5Sget_simple_extent_type(space.get()) == H5S_NULL || H5Sget_simple_extent_npoints(space.get()) != 1)
        throw_input("{}: ScalarH5Type should hold exactly one value", where);
    H5Id type = h5_check(H5Dget_type(dset), where);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_ENUM && H5Tget_size(type.get()) == 1) {
        int8_t v = 0;
        h5_check_status(H5Dread(dset, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), where);
        return Node(v != 0);
    }
    if (cls == H5T_INTEGER) {
        if (H5Tget_sign(type.get()) == H5T_SGN_NONE && H5Tget_size(type.get()) == 8) {
            uint64_t u = 0;
            h5_check_status(H5Dread(dset, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &u), where);
            if (u > static_cast<uint64_t>(INT64_MAX))
                throw_input("{}: integer {} does not fit 64-bit signed", where, u);
            return Node(static_cast<int64_t>(u));
        }
        int64_t v = 0;
        h5_check_status(H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), where);
        return Node(v);
    }
    if (cls == H5T_FLOAT) {
        double v = 0;
        h5_check_status(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), where);
        return Node(v);
    }
    throw_input("{}: ScalarH5Type should be a bool, integer or float, found a {}", where, h5_type_label(type.get()));
}

Node Reader::object(const std::string& hex, const std::string& where) const
{
    std::string raw;
    if (!from_hex(hex, raw))
        throw_input("{}: object_value is not hex text", where);
    Opaque o;
    o.raw = hex;
    o.type = "object";
    // The type name is only for messages; an object we cannot decode is still kept byte-exact.
    try {
        const Node n = pickle::unpickle(raw, where + " object_value");
        // Python bytes have a Node of their own (and write back to the same pickle).
        if (n.kind() == Node::Kind::bytes)
            return n;
        if (n.kind() == Node::Kind::opaque) {
            o.type = n.as_opaque().type;
            o.args = n.as_opaque().args;
            o.state = n.as_opaque().state;
        } else {
            o.type = fmt::format("builtins.{}", Node::kind_name(n.kind()));
            o.args = std::make_shared<Node>(n);
        }
    } catch (const Error& e) {
        const std::string why = e.what();
        const std::string marker = "the pickle references ";
        if (const size_t at = why.find(marker); at != std::string::npos && why.find("refusing to load") != std::string::npos) {
            // A callable the unpickler refuses (os.system, eval, …): kept as inert bytes, never
            // run, but shown for what it is wherever the value is printed (inspect, diff).
            const size_t from = at + marker.size();
            const std::string callable = why.substr(from, why.find_first_of(" (", from) - from);
            o.type = fmt::format("REFUSED callable {}", callable);
            log::warning("{}: the pickled object references {}, a callable that can run code; ckptconv keeps its "
                         "bytes undecoded and never runs it",
                         where, callable);
        } else {
            log::debug("{}: object kept undecoded: {}", where, e.what());
        }
    }
    return Node(std::move(o));
}

namespace {

std::vector<std::byte> fill_element(DType dtype, double fv, int64_t iv, bool is_int)
{
    std::vector<std::byte> e(dtype_size(dtype));
    auto put = [&](const auto& v) { std::memcpy(e.data(), &v, sizeof v); };
    switch (dtype) {
    case DType::f64: put(is_int ? double(iv) : fv); break;
    case DType::f32: put(float(is_int ? double(iv) : fv)); break;
    case DType::f16: put(double_to_half_bits(is_int ? double(iv) : fv)); break;
    case DType::bf16: put(double_to_bf16_bits(is_int ? double(iv) : fv)); break;
    case DType::i64: put(int64_t(is_int ? iv : int64_t(fv))); break;
    case DType::i32: put(int32_t(is_int ? iv : int64_t(fv))); break;
    case DType::i16: put(int16_t(is_int ? iv : int64_t(fv))); break;
    case DType::i8: put(int8_t(is_int ? iv : int64_t(fv))); break;
    case DType::u64: put(uint64_t(is_int ? iv : int64_t(fv))); break;
    case DType::u32: put(uint32_t(is_int ? iv : int64_t(fv))); break;
    case DType::u16: put(uint16_t(is_int ? iv : int64_t(fv))); break;
    case DType::u8: put(uint8_t(is_int ? iv : int64_t(fv))); break;
    case DType::boolean: put(uint8_t((is_int ? iv != 0 : fv != 0) ? 1 : 0)); break;
    default: throw_input("a constant {} tensor is not supported", dtype_name(dtype));
    }
    return e;
}

} // namespace

Node Reader::full_tensor(hid_t dset, const std::string& name, const std::string& key) const
{
    const std::string where = fmt::format("{}: key '{}' (dataset '{}')", m_name, key, name);
    const bool bf16 = h5_read_int_attr(dset, "is_bfloat16", where).value_or(0) != 0;
    H5Id type = h5_check(H5Dget_type(dset), where);
    TensorInfo info;
    info.dtype = dtype_of_h5_type(type.get(), bf16, where);
    auto shape = h5_read_int_list_attr(dset, "shape", where, kMaxRank);
    if (!shape)
        throw_input("{}: DeferredFullTensor has no 'shape' attribute", where);
    for (int64_t d : *shape)
        if (d < 0)
            throw_input("{}: DeferredFullTensor shape has a negative dimension {}", where, d);
    info.shape = *shape;
    try {
        (void)info.nbytes();
        if (info.numel() > UINT64_MAX / dtype_size(info.dtype))
            throw_input("overflow");
    } catch (const InputError&) {
        throw_input("{}: DeferredFullTensor shape [{}] is too large", where, fmt::join(info.shape, ", "));
    }
    if (!h5_has_attr(dset, "fill_value"))
        throw_input("{}: DeferredFullTensor has no 'fill_value' attribute", where);
    H5Id attr = h5_check(H5Aopen(dset, "fill_value", H5P_DEFAULT), where);
    H5Id atype = h5_check(H5Aget_type(attr.get()), where);
    const bool is_int = H5Tget_class(atype.get()) != H5T_FLOAT;
    double fv = 0;
    int64_t iv = 0;
    if (is_int)
        iv = *h5_read_int_attr(dset, "fill_value", where);
    else
        fv = *h5_read_float_attr(dset, "fill_value", where);
    return Node(TensorPtr(std::make_shared<FullTensor>(info, fill_element(info.dtype, fv, iv, is_int))));
}

Node Reader::leaf_04(const std::string& key, const std::string& name, int link_depth) const
{
    const std::string where = fmt::format("{}: key '{}' (dataset '{}')", m_name, key, name);
    H5Id dset = open_dataset(name, key);
    const auto h5type = h5_read_string_attr(dset.get(), "__H5_TYPE__", where);
    auto bf16 = [&] { return h5_read_int_attr(dset.get(), "is_bfloat16", where).value_or(0) != 0; };
    if (!h5type) {
        // Pre-1.8 files: flags instead of a handler name.
        if (h5_read_int_attr(dset.get(), "is_none", where).value_or(0))
            return Node();
        if (h5_read_int_attr(dset.get(), "is_string", where).value_or(0)) {
            auto s = h5_read_string_attr(dset.get(), "string_val", where);
            if (!s)
                throw_input("{}: string dataset has no 'string_val' attribute", where);
            return Node(*s);
        }
        if (h5_read_int_attr(dset.get(), "is_scalar", where).value_or(0))
            return scalar(dset.get(), name, key);
        if (h5_read_int_attr(dset.get(), "is_constructible", where).value_or(0))
            return full_tensor(dset.get(), name, key);
        if (h5_has_attr(dset.get(), "filepath"))
            throw_input("{}: the tensor lives in an external file (pre-1.8 'filepath'), which ckptconv does not "
                        "follow",
                        where);
        return Node(tensor(dset.get(), name, key, bf16()));
    }
    const std::string& t = *h5type;
    if (t == kTorchTensorH5Type || t == kNumpyArrayH5Type)
        return Node(tensor(dset.get(), name, key, bf16()));
    if (t == kScalarH5Type)
        return scalar(dset.get(), name, key);
    if (t == kStringH5Type) {
        auto s = h5_read_string_attr(dset.get(), "string_value", where);
        if (!s)
            throw_input("{}: StringH5Type dataset has no 'string_value' attribute", where);
        return Node(*s);
    }
    if (t == kNoneH5Type)
        return Node();
    if (t == kObjectH5Type) {
        auto hex = h5_read_string_attr(dset.get(), "object_value", where);
        if (!hex)
            throw_input("{}: ObjectH5Type dataset has no 'object_value' attribute", where);
        return object(*hex, where);
    }
    if (t == kDeferredFullTensor)
        return full_tensor(dset.get(), name, key);
    if (t == kDeferredH5Tensor) {
        const auto target = h5_read_string_attr(dset.get(), "key", where);
        if (!target)
            throw_input("{}: DeferredH5Tensor has no 'key' attribute", where);
        const bool self = h5_read_int_attr(dset.get(), "link_to_self", where).value_or(0) != 0;
        if (!self && h5_has_attr(dset.get(), "filepath"))
            throw_input("{}: DeferredH5Tensor points into another file ('{}'); ckptconv reads single files only — "
                        "re-save the checkpoint without external links",
                        where, h5_read_string_attr(dset.get(), "filepath", where).value_or(""));
        if (link_depth >= kMaxLinkDepth)
            throw_input("{}: DeferredH5Tensor links nest deeper than {} (a cycle?)", where, kMaxLinkDepth);
        const std::string target_name = has_dataset(*target) ? *target : url_quote(*target);
        if (!has_dataset(target_name))
            throw_input("{}: DeferredH5Tensor points to '{}', which is not in the file", where, *target);
        Node n = leaf_04(key, target_name, link_depth + 1);
        if (!n.is_tensor())
            throw_input("{}: DeferredH5Tensor points to '{}', which is not a tensor", where, *target);
        return n;
    }
    if (t == kDeferredFileTensor)
        throw_input("{}: DeferredFileTensor (raw data in a side file) is not supported; re-save the checkpoint "
                    "with cstorch so the tensor is stored in the .mdl",
                    where);
    throw_input("{}: unknown __H5_TYPE__ '{}' (expected TorchTensorH5Type, NumpyArrayH5Type, ScalarH5Type, "
                "StringH5Type, NoneH5Type, ObjectH5Type or a Deferred* type)",
                where, t);
}

namespace {

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* data)
{
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

bool ends_with(std::string_view s, std::string_view p)
{
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

} // namespace

std::vector<std::pair<std::string, std::string>> Reader::root_attributes() const
{
    std::vector<std::string> names;
    hsize_t idx = 0;
    if (H5Aiterate2(m_file->id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr_name, &names) < 0)
        throw_input("{}: cannot list root attributes: {}", m_name, h5_error_text());
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& n : names) {
        if (n == "__spec__" || ends_with(n, ".__metadata__"))
            continue;
        const std::string where = fmt::format("{}: root attribute '{}'", m_name, n);
        H5Id attr = h5_check(H5Aopen(m_file->id(), n.c_str(), H5P_DEFAULT), where);
        H5Id type = h5_check(H5Aget_type(attr.get()), where);
        switch (H5Tget_class(type.get())) {
        case H5T_STRING: out.emplace_back(n, h5_read_string_attr(m_file->id(), n.c_str(), where).value_or("")); break;
        case H5T_ENUM: out.emplace_back(n, h5_read_int_attr(m_file->id(), n.c_str(), where).value_or(0) ? "True" : "False"); break;
        case H5T_INTEGER: out.emplace_back(n, std::to_string(*h5_read_int_attr(m_file->id(), n.c_str(), where))); break;
        case H5T_FLOAT: out.emplace_back(n, fmt::format("{}", *h5_read_float_attr(m_file->id(), n.c_str(), where))); break;
        default: log::debug("{}: not a scalar, skipped", where);
        }
    }
    return out;
}

Node read_layout04(const Reader& r, const std::string& spec_hex, Checkpoint& cp)
{
    const std::string& fname = r.name();
    std::string raw;
    if (!from_hex(spec_hex, raw))
        throw_input("{}: root attribute __spec__ is not hex text (expected the hex of a pickled torch TreeSpec, "
                    "found {} characters starting '{}')",
                    fname, spec_hex.size(), spec_hex.substr(0, 16));
    const std::string where = fmt::format("{}: __spec__", fname);
    Node pickled;
    try {
        pickled = pickle::unpickle(raw, where);
    } catch (const InputError& e) {
        throw_input("{}: __spec__ is not a readable pickle: {}", fname, e.what());
    }
    const TreeSpecNode spec = spec_from_unpickled(pickled, where);
    if (spec.type == TreeSpecNode::Type::leaf)
        throw_input("{}: __spec__ describes a single value, not a state dict", fname);
    const std::vector<std::string> keys = leaf_keys(spec);
    std::vector<Node> leaves;
    leaves.reserve(keys.size());
    std::vector<bool> present(keys.size());
    size_t missing = 0;
    for (size_t i = 0; i < keys.size(); ++i)
        if (!(present[i] = r.has_dataset(url_quote(keys[i]))))
            ++missing;
    // A few absent keys are cstorch's "warn and return None"; none present at all means the spec
    // does not belong to these datasets, and nulls everywhere would only hide that.
    if (missing && missing == keys.size())
        throw_input("{}: __spec__ names {} keys (e.g. '{}') but none of them is a dataset in the file", fname,
                    keys.size(), keys.front());
    for (size_t i = 0; i < keys.size(); ++i) {
        if (!present[i]) {
            // cstorch.load warns and returns None for keys the spec names but the file lacks.
            log::warning("{}: key '{}' is in the checkpoint's spec but has no dataset; it is read as None", fname,
                         keys[i]);
            leaves.emplace_back();
            continue;
        }
        leaves.push_back(r.leaf_04(keys[i], url_quote(keys[i]), 0));
    }
    if (missing)
        cp.notes.push_back(fmt::format("{} key(s) named by the spec were missing from {} and read as None", missing, fname));
    return unflatten(spec, leaves);
}

} // namespace detail

Checkpoint read_mdl(const std::filesystem::path& path)
{
    const std::string head = read_head(path, 1 << 16);
    if (detail::is_torch_file(head))
        return detail::read_mdl_torch(path);
    if (!is_hdf5(head))
        throw_input("{}: not a Cerebras checkpoint: neither an HDF5 file nor a PyTorch zip/pickle (first bytes "
                    "do not match either signature)",
                    path.string());
    auto file = detail::H5File::open(path);
    detail::H5Lock lock(detail::h5_mutex());
    detail::Reader reader(file);
    Checkpoint cp;
    cp.files.push_back(path);
    cp.metadata = reader.root_attributes();
    const std::string fname = path.string();
    const auto spec = detail::h5_read_string_attr(file->id(), "__spec__", fname + ": root attribute");
    if (!spec)
        throw_input("{}: HDF5 file has no __spec__ root attribute: it was not written by cstorch.save (expected "
                    "the checkpoint's TreeSpec there)",
                    fname);
    const size_t first = spec->find_first_not_of(" \t\r\n");
    if (first != std::string::npos && ((*spec)[first] == '[' || (*spec)[first] == '{')) {
        cp.format = "mdl-h5-2.5";
        cp.root = detail::read_layout5(reader, *spec, cp);
    } else {
        cp.format = "mdl-h5-0.4";
        cp.root = detail::read_layout04(reader, *spec, cp);
    }
    return cp;
}

} // namespace ckpt
