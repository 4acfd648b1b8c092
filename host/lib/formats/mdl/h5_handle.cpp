// SPDX-License-Identifier: Apache-2.0
// HDF5 helpers: the process-wide lock, error-stack capture, attributes as h5py writes them.
#include "formats/mdl/h5_handle.hpp"

#include "core/error.hpp"
#include "formats/mdl/lz4_filter.hpp"

#include <cstring>
#include <memory>

namespace ckpt::detail {

std::recursive_mutex& h5_mutex()
{
    static std::recursive_mutex m;
    return m;
}

void h5_init()
{
    static bool done = false;
    if (done)
        return;
    // HDF5 1.10 keeps a file's id registered when H5Fclose fails (a full disk during the final
    // flush) although it already freed the file's object; its atexit clean-up then closes that
    // id again and crashes in exit(). ckptconv reports the error and exits: the kernel, not
    // HDF5's clean-up, releases what is left. (Only effective before HDF5's first call.)
    H5dont_atexit();
    H5open();
    // HDF5 prints its error stack to stderr by default; we turn it into exception text instead.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    register_lz4_filter();
    done = true;
}

void h5_relax_file_locking(hid_t fapl)
{
#if H5_VERSION_GE(1, 10, 7)
    hbool_t use = true, ignore = false;
    if (H5Pget_file_locking(fapl, &use, &ignore) >= 0)
        H5Pset_file_locking(fapl, use, true);
    H5Eclear2(H5E_DEFAULT);
#else
    (void)fapl;
#endif
}

namespace {
herr_t collect_error(unsigned, const H5E_error2_t* err, void* data)
{
    auto* out = static_cast<std::vector<std::string>*>(data);
    if (err && err->desc && *err->desc && (out->empty() || out->back() != err->desc))
        out->emplace_back(err->desc);
    return 0;
}
} // namespace

std::string h5_error_text()
{
    std::vector<std::string> parts;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &parts);
    H5Eclear2(H5E_DEFAULT);
    // The outermost frames repeat the API call; the last few say what actually went wrong.
    std::string text;
    const size_t first = parts.size() > 3 ? parts.size() - 3 : 0;
    for (size_t i = first; i < parts.size(); ++i) {
        if (!text.empty())
            text += ": ";
        text += parts[i];
    }
    return text.empty() ? std::string("HDF5 error") : text;
}

H5Id h5_check(hid_t id, const std::string& what)
{
    if (id < 0)
        throw_input("{}: {}", what, h5_error_text());
    return H5Id(id);
}

void h5_check_status(herr_t status, const std::string& what)
{
    if (status < 0)
        throw_input("{}: {}", what, h5_error_text());
}

bool h5_hard_path_exists(hid_t file, const std::string& path, const std::string& where)
{
    // Each prefix is checked before anything below it is looked up: H5Lexists itself follows
    // every component but the last.
    size_t pos = 0;
    while (pos < path.size()) {
        size_t end = path.find('/', pos);
        if (end == std::string::npos)
            end = path.size();
        if (end == pos) { // "/a", "a//b": HDF5 skips empty components
            ++pos;
            continue;
        }
        const std::string prefix = path.substr(0, end);
        const htri_t exists = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
        if (exists <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        H5L_info_t info{};
        if (H5Lget_info(file, prefix.c_str(), &info, H5P_DEFAULT) < 0)
            throw_input("{}: cannot read the link '{}': {}", where, prefix, h5_error_text());
        if (info.type != H5L_TYPE_HARD) {
            const char* kind = info.type == H5L_TYPE_SOFT       ? "a soft link"
                               : info.type == H5L_TYPE_EXTERNAL ? "an external link (to another file)"
                                                                : "a user-defined link";
            throw_input("{}: '{}' is {}; ckptconv follows no links and reads nothing outside the checkpoint file",
                        where, prefix, kind);
        }
        pos = end + 1;
    }
    return !path.empty();
}

void h5_require_local_storage(hid_t dset, const std::string& where)
{
    H5Id dcpl = h5_check(H5Dget_create_plist(dset), where);
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    const int external = H5Pget_external_count(dcpl.get());
    if (layout < 0 || external < 0)
        throw_input("{}: cannot read the dataset's storage layout: {}", where, h5_error_text());
    if (external > 0) {
        char name[256] = {};
        off_t offset = 0;
        hsize_t size = 0;
        if (H5Pget_external(dcpl.get(), 0, sizeof name - 1, name, &offset, &size) < 0) {
            H5Eclear2(H5E_DEFAULT);
            name[0] = '\0';
        }
        throw_input("{}: the dataset's bytes are stored in an external file ('{}'); ckptconv reads nothing outside "
                    "the checkpoint file",
                    where, name);
    }
    switch (layout) {
    case H5D_CONTIGUOUS:
    case H5D_CHUNKED:
    case H5D_COMPACT: return;
    case H5D_VIRTUAL:
        throw_input("{}: the dataset is a virtual dataset (its bytes are mapped from other datasets or files); "
                    "ckptconv reads nothing outside the checkpoint file",
                    where);
    default:
        throw_input("{}: the dataset has a storage layout ckptconv does not read (HDF5 layout {})", where,
                    static_cast<int>(layout));
    }
}

bool h5_has_attr(hid_t obj, const char* name)
{
    const htri_t r = H5Aexists(obj, name);
    if (r < 0)
        H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

namespace {

H5Id open_attr(hid_t obj, const char* name, const std::string& where)
{
    return h5_check(H5Aopen(obj, name, H5P_DEFAULT),
                    fmt::format("{}: cannot open attribute '{}'", where, name));
}

// Number of elements of an attribute's dataspace; only scalar or one-element simple spaces hold
// a single value.
hssize_t attr_points(hid_t attr, const std::string& where, const char* name)
{
    H5Id space = h5_check(H5Aget_space(attr), fmt::format("{}: attribute '{}'", where, name));
    const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
    if (cls == H5S_NULL)
        return 0;
    return H5Sget_simple_extent_npoints(space.get());
}

int64_t decode_int(const unsigned char* p, size_t size, bool is_signed, bool big_endian)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) {
        const size_t k = big_endian ? i : size - 1 - i;
        v = (v << 8) | p[k];
    }
    if (is_signed && size < 8 && (v >> (size * 8 - 1)) & 1)
        v |= ~uint64_t(0) << (size * 8);
    return static_cast<int64_t>(v);
}

} // namespace

std::optional<std::string> h5_read_string_attr(hid_t obj, const char* name, const std::string& where)
{
    if (!h5_has_attr(obj, name))
        return std::nullopt;
    H5Id attr = open_attr(obj, name, where);
    H5Id type = h5_check(H5Aget_type(attr.get()), fmt::format("{}: attribute '{}'", where, name));
    if (H5Tget_class(type.get()) != H5T_STRING)
        throw_input("{}: attribute '{}' should be a string, found another HDF5 type", where, name);
    if (attr_points(attr.get(), where, name) != 1)
        throw_input("{}: attribute '{}' should hold exactly one string", where, name);
    const htri_t vlen = H5Tis_variable_str(type.get());
    if (vlen < 0)
        throw_input("{}: attribute '{}': {}", where, name, h5_error_text());
    if (vlen > 0) {
        H5Id mem = h5_check(H5Tcopy(H5T_C_S1), "string type");
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* value = nullptr;
        h5_check_status(H5Aread(attr.get(), mem.get(), &value),
                        fmt::format("{}: cannot read attribute '{}'", where, name));
        std::string out = value ? std::string(value) : std::string();
        if (value)
            H5free_memory(value);
        return out;
    }
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > (size_t(1) << 31))
        throw_input("{}: attribute '{}' has an implausible string size {}", where, name, size);
    std::string buf(size, '\0');
    h5_check_status(H5Aread(attr.get(), type.get(), buf.data()),
                    fmt::format("{}: cannot read attribute '{}'", where, name));
    const size_t end = buf.find('\0');
    if (end != std::string::npos)
        buf.resize(end);
    if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD)
        while (!buf.empty() && buf.back() == ' ')
            buf.pop_back();
    return buf;
}

std::optional<int64_t> h5_read_int_attr(hid_t obj, const char* name, const std::string& where)
{
    if (!h5_has_attr(obj, name))
        return std::nullopt;
    H5Id attr = open_attr(obj, name, where);
    H5Id type = h5_check(H5Aget_type(attr.get()), fmt::format("{}: attribute '{}'", where, name));
    if (attr_points(attr.get(), where, name) != 1)
        throw_input("{}: attribute '{}' should hold exactly one value", where, name);
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_INTEGER) {
        int64_t v = 0;
        h5_check_status(H5Aread(attr.get(), H5T_NATIVE_INT64, &v),
                        fmt::format("{}: cannot read attribute '{}'", where, name));
        return v;
    }
    if (cls == H5T_ENUM) {
        // HDF5 converts enums only to enums; read the raw value and decode its base integer.
        H5Id base = h5_check(H5Tget_super(type.get()), "enum base type");
        const size_t size = H5Tget_size(type.get());
        if (size == 0 || size > 8)
            throw_input("{}: attribute '{}' is an enum of unsupported size {}", where, name, size);
        unsigned char raw[8] = {};
        h5_check_status(H5Aread(attr.get(), type.get(), raw),
                        fmt::format("{}: cannot read attribute '{}'", where, name));
        return decode_int(raw, size, H5Tget_sign(base.get()) == H5T_SGN_2,
                          H5Tget_order(base.get()) == H5T_ORDER_BE);
    }
    if (cls == H5T_FLOAT) {
        double v = 0;
        h5_check_status(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v),
                        fmt::format("{}: cannot read attribute '{}'", where, name));
        return static_cast<int64_t>(v);
    }
    throw_input("{}: attribute '{}' should be a number or bool, found another HDF5 type", where, name);
}

std::optional<double> h5_read_float_attr(hid_t obj, const char* name, const std::string& where)
{
    if (!h5_has_attr(obj, name))
        return std::nullopt;
    H5Id attr = open_attr(obj, name, where);
    H5Id type = h5_check(H5Aget_type(attr.get()), fmt::format("{}: attribute '{}'", where, name));
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_ENUM)
        return static_cast<double>(*h5_read_int_attr(obj, name, where));
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        throw_input("{}: attribute '{}' should be a number, found another HDF5 type", where, name);
    if (attr_points(attr.get(), where, name) != 1)
        throw_input("{}: attribute '{}' should hold exactly one value", where, name);
    double v = 0;
    h5_check_status(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v),
                    fmt::format("{}: cannot read attribute '{}'", where, name));
    return v;
}

std::optional<std::vector<int64_t>> h5_read_int_list_attr(hid_t obj, const char* name,
                                                          const std::string& where, size_t max_items)
{
    if (!h5_has_attr(obj, name))
        return std::nullopt;
    H5Id attr = open_attr(obj, name, where);
    H5Id type = h5_check(H5Aget_type(attr.get()), fmt::format("{}: attribute '{}'", where, name));
    if (H5Tget_class(type.get()) != H5T_INTEGER)
        throw_input("{}: attribute '{}' should be a list of integers", where, name);
    H5Id space = h5_check(H5Aget_space(attr.get()), fmt::format("{}: attribute '{}'", where, name));
    const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
    if (cls == H5S_NULL)
        return std::vector<int64_t>{};
    if (H5Sget_simple_extent_ndims(space.get()) > 1)
        throw_input("{}: attribute '{}' should be one-dimensional", where, name);
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n < 0 || static_cast<uint64_t>(n) > max_items)
        throw_input("{}: attribute '{}' has {} items, at most {} expected", where, name, n, max_items);
    // A scalar attribute is a shape of rank 0 only if cstorch wrote an empty tuple; a scalar
    // dataspace holds one value, which we keep.
    std::vector<int64_t> out(static_cast<size_t>(n));
    if (n > 0)
        h5_check_status(H5Aread(attr.get(), H5T_NATIVE_INT64, out.data()),
                        fmt::format("{}: cannot read attribute '{}'", where, name));
    return out;
}

void h5_write_string_attr(hid_t obj, const char* name, const std::string& value)
{
    H5Id type = h5_check(H5Tcopy(H5T_C_S1), "string type");
    h5_check_status(H5Tset_size(type.get(), H5T_VARIABLE), "string type");
    h5_check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string type");
    h5_check_status(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), "string type");
    H5Id space = h5_check(H5Screate(H5S_SCALAR), "scalar space");
    H5Id attr = h5_check(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         fmt::format("cannot create attribute '{}'", name));
    const char* p = value.c_str();
    h5_check_status(H5Awrite(attr.get(), type.get(), &p), fmt::format("cannot write attribute '{}'", name));
}

void h5_write_bool_attr(hid_t obj, const char* name, bool value)
{
    H5Id type = h5_bool_type();
    H5Id space = h5_check(H5Screate(H5S_SCALAR), "scalar space");
    H5Id attr = h5_check(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         fmt::format("cannot create attribute '{}'", name));
    const int8_t v = value ? 1 : 0;
    h5_check_status(H5Awrite(attr.get(), type.get(), &v), fmt::format("cannot write attribute '{}'", name));
}

void h5_write_double_attr(hid_t obj, const char* name, double value)
{
    H5Id space = h5_check(H5Screate(H5S_SCALAR), "scalar space");
    H5Id attr = h5_check(H5Acreate2(obj, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         fmt::format("cannot create attribute '{}'", name));
    h5_check_status(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value),
                    fmt::format("cannot write attribute '{}'", name));
}

H5Id h5_bool_type()
{
    H5Id type = h5_check(H5Tenum_create(H5T_STD_I8LE), "bool type");
    const int8_t f = 0, t = 1;
    h5_check_status(H5Tenum_insert(type.get(), "FALSE", &f), "bool type");
    h5_check_status(H5Tenum_insert(type.get(), "TRUE", &t), "bool type");
    return type;
}

H5Id h5_half_type()
{
    // h5py's construction of numpy float16: IEEE binary16 carved out of a copy of F32LE.
    H5Id type = h5_check(H5Tcopy(H5T_IEEE_F32LE), "half type");
    h5_check_status(H5Tset_fields(type.get(), 15, 10, 5, 0, 10), "half type");
    h5_check_status(H5Tset_size(type.get(), 2), "half type");
    h5_check_status(H5Tset_ebias(type.get(), 15), "half type");
    return type;
}

} // namespace ckpt::detail
