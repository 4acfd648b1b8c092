// SPDX-License-Identifier: Apache-2.0
// Writes `.mdl` checkpoints in layout 0.4 as cstorch 2.0–2.4 does (and dispatches layout 5).
#include "formats/mdl/mdl_writer.hpp"

#include "core/error.hpp"
#include "formats/mdl/h5_copy_driver.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_chunk_io.hpp"
#include "formats/mdl/lz4_filter.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/mdl/mdl_layout5.hpp"
#include "formats/mdl/mdl_names.hpp"
#include "formats/mdl/tree_spec.hpp"
#include "formats/torch/pickle.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace ckpt {

namespace detail {

namespace {
constexpr double kChunkBase = 16.0 * 1024;
constexpr double kChunkMin = 8.0 * 1024;
constexpr double kChunkMax = 1024.0 * 1024;
// Bytes handed to HDF5 per write call: bounded memory whatever the tensor size.
constexpr uint64_t kPieceBytes = 16u << 20;
constexpr uint64_t kMaxSlabBytes = 64u << 20;
} // namespace

std::vector<hsize_t> guess_chunk(const std::vector<int64_t>& shape, size_t type_size)
{
    const size_t nd = shape.size();
    std::vector<double> chunks(nd);
    for (size_t i = 0; i < nd; ++i)
        chunks[i] = shape[i] != 0 ? static_cast<double>(shape[i]) : 1024.0;
    auto product = [&] {
        double p = 1;
        for (double c : chunks)
            p *= c;
        return p;
    };
    const double dset_size = product() * static_cast<double>(type_size);
    double target = kChunkBase * std::pow(2.0, std::log10(dset_size / (1024.0 * 1024)));
    if (target > kChunkMax)
        target = kChunkMax;
    else if (target < kChunkMin)
        target = kChunkMin;
    size_t idx = 0;
    while (true) {
        const double chunk_bytes = product() * static_cast<double>(type_size);
        if ((chunk_bytes < target || std::fabs(chunk_bytes - target) / target < 0.5) && chunk_bytes < kChunkMax)
            break;
        if (product() == 1)
            break;
        chunks[idx % nd] = std::ceil(chunks[idx % nd] / 2.0);
        ++idx;
    }
    std::vector<hsize_t> out(nd);
    for (size_t i = 0; i < nd; ++i)
        out[i] = static_cast<hsize_t>(chunks[i]);
    return out;
}

Writer::Writer(const std::filesystem::path& path, bool compress) : m_name(path.string()), m_compress(compress)
{
    h5_init();
    H5Id fapl = h5_check(H5Pcreate(H5P_FILE_ACCESS), "file access properties");
    h5_relax_file_locking(fapl.get());
    h5_use_copy_driver(fapl.get()); // mapped bytes (stored chunks passed through) copied in the kernel
    m_file = h5_check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                      fmt::format("{}: cannot create HDF5 file", m_name));
}

Writer::~Writer()
{
    // Unfinished (an exception is propagating): close quietly; the caller discards the file.
    if (m_file.valid()) {
        H5Fclose(m_file.release());
        H5Eclear2(H5E_DEFAULT);
    }
}

void Writer::close()
{
    if (!m_file.valid())
        return;
    const hid_t id = m_file.release();
    // The flush meets a full disk first and says so; what the close then fails on (HDF5's state
    // after that failure) says nothing useful.
    const herr_t flushed = H5Fflush(id, H5F_SCOPE_LOCAL);
    std::string why = flushed < 0 ? h5_error_text() : std::string();
    if (H5Fclose(id) < 0 && why.empty())
        why = h5_error_text();
    if (!why.empty())
        throw_input("{}: cannot finish writing the HDF5 file: {}", m_name, why);
}

H5Id Writer::create(const std::string& dataset, hid_t type, hid_t space, hid_t dcpl, const std::string& key,
                    hid_t dapl)
{
    // HDF5 takes "." and ".." as the group itself and its parent (and "" as nothing): a dataset
    // of that name is not one the reader (or h5py) can open by name again. ('/' is quoted.)
    if (dataset.empty() || dataset == "." || dataset == "..")
        throw_input("{}: key '{}': the dataset name '{}' is reserved by HDF5 (the group itself or its parent), so "
                    "the tensor could not be read back from the .mdl; rename it before converting",
                    m_name, key, dataset);
    return h5_check(H5Dcreate2(m_file.get(), dataset.c_str(), type, space, H5P_DEFAULT, dcpl, dapl),
                    fmt::format("{}: key '{}': cannot create dataset '{}'", m_name, key, dataset));
}

namespace {

H5Id plain_dcpl()
{
    H5Id dcpl = h5_check(H5Pcreate(H5P_DATASET_CREATE), "dataset properties");
    h5_check_status(H5Pset_obj_track_times(dcpl.get(), false), "dataset properties");
    return dcpl;
}

// Source bytes [off, off + n): straight from memory when the tensor is mapped, else read into buf.
const std::byte* source_bytes(const TensorData& t, uint64_t off, uint64_t n, std::vector<std::byte>& buf)
{
    if (const std::byte* p = t.data())
        return p + off;
    buf.resize(n);
    if (n)
        t.read(off, buf.data(), n);
    return buf.data();
}

} // namespace

H5Id Writer::tensor(const std::string& dataset, const TensorData& t, const std::string& key)
{
    const TensorInfo& info = t.info();
    const std::string where = fmt::format("{}: key '{}'", m_name, key);
    H5Id ftype = h5_file_type(info.dtype, where);
    H5Id mtype = h5_memory_type(info.dtype, ftype.get());
    const size_t es = dtype_size(info.dtype);
    const uint64_t numel = info.numel();
    const size_t rank = info.shape.size();
    std::vector<hsize_t> dims(info.shape.begin(), info.shape.end());
    H5Id space = rank == 0 ? h5_check(H5Screate(H5S_SCALAR), where)
                           : h5_check(H5Screate_simple(static_cast<int>(rank), dims.data(), nullptr), where);
    H5Id dcpl = plain_dcpl();
    const bool chunked = m_compress && rank > 0 && numel > 0;
    std::vector<hsize_t> chunk;
    if (chunked) {
        chunk = guess_chunk(info.shape, es);
        h5_check_status(H5Pset_chunk(dcpl.get(), static_cast<int>(rank), chunk.data()), where);
        const unsigned cd[1] = {0};
        h5_check_status(H5Pset_filter(dcpl.get(), kLz4FilterId, H5Z_FLAG_OPTIONAL, 1, cd), where);
        // h5py sets this for every chunked dataset ("prevent resize glitch").
        h5_check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC), where);
    }
    // No chunk cache: HDF5 then compresses and allocates each chunk as soon as it is complete,
    // in chunk order, which H5Dwrite_chunk reproduces. With the default 1 MiB cache, up to 1 MiB
    // of chunks (more for edge chunks, which the cache keeps longer) were allocated only when
    // the dataset was closed, after its attributes, an order no direct write can follow.
    H5Id dapl = h5_check(H5Pcreate(H5P_DATASET_ACCESS), where);
    if (chunked)
        h5_check_status(H5Pset_chunk_cache(dapl.get(), 0, 0, 1.0), where);
    H5Id dset = create(dataset, ftype.get(), space.get(), dcpl.get(), key, dapl.get());
    const std::string what = fmt::format("{}: key '{}': cannot write dataset '{}'", m_name, key, dataset);
    std::vector<std::byte> buf;
    if (numel == 0)
        return dset;
    if (rank == 0) {
        const std::byte* p = source_bytes(t, 0, es, buf);
        h5_check_status(H5Dwrite(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, p), what);
        return dset;
    }
    uint64_t row_elems = 1;
    for (size_t k = 1; k < rank; ++k)
        row_elems *= dims[k];
    const uint64_t row_bytes = row_elems * es;
    H5Id fspace = h5_check(H5Dget_space(dset.get()), what);

    if (!chunked) {
        // Contiguous: flat pieces, each selected in the file as at most 2·rank − 1 boxes.
        const uint64_t piece_elems = std::max<uint64_t>(1, kPieceBytes / es);
        for (uint64_t first = 0; first < numel; first += piece_elems) {
            const uint64_t last = std::min(numel, first + piece_elems);
            const std::byte* p = source_bytes(t, first * es, (last - first) * es, buf);
            h5_check_status(H5Sselect_none(fspace.get()), what);
            for (const auto& box : flat_range_boxes(info.shape, first, last))
                h5_check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_OR, box.start.data(), nullptr,
                                                    box.count.data(), nullptr),
                                what);
            const hsize_t n = last - first;
            H5Id mspace = h5_check(H5Screate_simple(1, &n, nullptr), what);
            h5_check_status(H5Dwrite(dset.get(), mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, p), what);
        }
        return dset;
    }

    if (lz4_direct_enabled()) {
        // An LZ4 dataset passed through unchanged (a copy op in a CS → CS conversion, behind
        // wrappers that only observe it) keeps its stored chunks: nothing to decode or encode.
        const auto* stored = dynamic_cast<const H5DatasetTensor*>(&stored_source(t));
        if (stored && stored->copy_stored_chunks(dset.get(), chunk, ftype.get(), what)) {
            t.note_bytes_copied(info.nbytes());
            return dset;
        }
        // The tensor's bytes are the file type's bytes (h5_file_type keeps the host's
        // little-endian layout), so chunks can be compressed without HDF5 converting them.
        m_lz4.write(dset.get(), t, dims, chunk, es, what);
        return dset;
    }

    const uint64_t slab_rows = chunk[0];
    if (slab_rows * row_bytes <= kMaxSlabBytes) {
        // Whole chunk rows per write: every chunk is written complete, once, so nothing is
        // read back and recompressed.
        const uint64_t per = std::max<uint64_t>(1, kPieceBytes / (slab_rows * row_bytes)) * slab_rows;
        for (uint64_t r0 = 0; r0 < dims[0]; r0 += per) {
            const uint64_t n = std::min<uint64_t>(per, dims[0] - r0);
            const std::byte* p = source_bytes(t, r0 * row_bytes, n * row_bytes, buf);
            std::vector<hsize_t> start(rank, 0), count(dims);
            start[0] = r0;
            count[0] = n;
            h5_check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                                nullptr),
                            what);
            // The memory space has the slab's own shape: with a flat one HDF5 maps every element
            // to its chunk one by one, which made LZ4 output ten times slower than plain.
            H5Id mspace = h5_check(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr), what);
            h5_check_status(H5Dwrite(dset.get(), mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, p), what);
        }
        return dset;
    }

    // Very wide rows: one chunk at a time (chunks are at most 1 MiB), gathered run by run.
    std::vector<hsize_t> grid(rank), idx(rank, 0);
    for (size_t k = 0; k < rank; ++k)
        grid[k] = (dims[k] + chunk[k] - 1) / chunk[k];
    std::vector<std::byte> box_buf, run;
    while (true) {
        std::vector<hsize_t> start(rank), count(rank);
        uint64_t box_elems = 1;
        for (size_t k = 0; k < rank; ++k) {
            start[k] = idx[k] * chunk[k];
            count[k] = std::min<hsize_t>(chunk[k], dims[k] - start[k]);
            box_elems *= count[k];
        }
        box_buf.resize(box_elems * es);
        const uint64_t run_elems = count[rank - 1];
        std::vector<hsize_t> pos(rank - 1, 0);
        for (uint64_t r = 0; r < box_elems / run_elems; ++r) {
            uint64_t flat = 0;
            for (size_t k = 0; k + 1 < rank; ++k)
                flat = flat * dims[k] + (start[k] + pos[k]);
            flat = flat * dims[rank - 1] + start[rank - 1];
            const std::byte* p = source_bytes(t, flat * es, run_elems * es, run);
            std::memcpy(box_buf.data() + r * run_elems * es, p, run_elems * es);
            for (size_t k = rank - 1; k-- > 0;) {
                if (++pos[k] < count[k])
                    break;
                pos[k] = 0;
            }
        }
        h5_check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                            nullptr),
                        what);
        H5Id mspace = h5_check(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr), what);
        h5_check_status(
            H5Dwrite(dset.get(), mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, box_buf.data()), what);
        size_t k = rank;
        while (k-- > 0) {
            if (++idx[k] < grid[k])
                break;
            idx[k] = 0;
        }
        if (k == static_cast<size_t>(-1))
            break;
    }
    return dset;
}

H5Id Writer::scalar(const std::string& dataset, const Node& value, const std::string& key)
{
    const std::string where = fmt::format("{}: key '{}'", m_name, key);
    H5Id space = h5_check(H5Screate(H5S_SCALAR), where);
    H5Id dcpl = plain_dcpl();
    const std::string what = fmt::format("{}: key '{}': cannot write dataset '{}'", m_name, key, dataset);
    switch (value.kind()) {
    case Node::Kind::boolean: {
        H5Id type = h5_bool_type();
        H5Id d = create(dataset, type.get(), space.get(), dcpl.get(), key);
        const int8_t v = value.as_bool() ? 1 : 0;
        h5_check_status(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), what);
        return d;
    }
    case Node::Kind::integer: {
        H5Id d = create(dataset, H5T_STD_I64LE, space.get(), dcpl.get(), key);
        const int64_t v = value.as_int();
        h5_check_status(H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), what);
        return d;
    }
    case Node::Kind::floating: {
        H5Id d = create(dataset, H5T_IEEE_F64LE, space.get(), dcpl.get(), key);
        const double v = value.as_float();
        h5_check_status(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), what);
        return d;
    }
    default:
        throw_input("{}: a {} is not a scalar", where, Node::kind_name(value.kind()));
    }
}

H5Id Writer::empty(const std::string& dataset, const std::string& key)
{
    H5Id space = h5_check(H5Screate(H5S_NULL), "null dataspace");
    H5Id dcpl = plain_dcpl();
    return create(dataset, H5T_IEEE_F32LE, space.get(), dcpl.get(), key);
}

std::string object_hex(const Node& value, const std::string& where)
{
    if (value.kind() == Node::Kind::opaque && !value.as_opaque().raw.empty()) {
        std::string check;
        if (!from_hex(value.as_opaque().raw, check))
            throw_input("{}: object's raw bytes are not the hex of a pickle", where);
        return value.as_opaque().raw;
    }
    try {
        // dill.dumps uses the default protocol (4) and pickles plain objects like pickle does.
        return to_hex(pickle::pickle_value(value, 4));
    } catch (const Error& e) {
        throw_input("{}: cannot store this {} as an ObjectH5Type pickle: {}", where, Node::kind_name(value.kind()),
                    e.what());
    }
}

LeafKind leaf_kind(const Node& leaf)
{
    switch (leaf.kind()) {
    case Node::Kind::tensor: return LeafKind::tensor;
    case Node::Kind::boolean:
    case Node::Kind::integer:
    case Node::Kind::floating: return LeafKind::scalar;
    case Node::Kind::string: return LeafKind::string;
    case Node::Kind::null: return LeafKind::none;
    default: return LeafKind::object;
    }
}

namespace {

void write_layout04(const std::filesystem::path& path, const Node& root, const MdlWriteOptions& options)
{
    const TreeSpecNode spec = spec_of(root);
    const std::vector<std::string> keys = leaf_keys(spec);
    std::vector<const Node*> leaves;
    flatten_leaves(root, leaves);
    Writer w(path, options.compress);
    std::set<std::string> names;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        const Node& leaf = *leaves[i];
        const std::string name = url_quote(key);
        if (!names.insert(name).second)
            throw_input("{}: two keys of the checkpoint flatten to the same name '{}'; cstorch could not store "
                        "them either",
                        w.name(), key);
        const std::string where = fmt::format("{}: key '{}'", w.name(), key);
        switch (leaf_kind(leaf)) {
        case LeafKind::tensor: {
            // Tied tensors are stored once per key, as cstorch 2.0–2.4 does.
            H5Id d = w.tensor(name, *leaf.as_tensor(), key);
            h5_write_string_attr(d.get(), "__H5_TYPE__", std::string(kTorchTensorH5Type));
            h5_write_bool_attr(d.get(), "is_bfloat16", leaf.as_tensor()->info().dtype == DType::bf16);
            break;
        }
        case LeafKind::scalar: {
            H5Id d = w.scalar(name, leaf, key);
            h5_write_string_attr(d.get(), "__H5_TYPE__", std::string(kScalarH5Type));
            break;
        }
        case LeafKind::string: {
            H5Id d = w.empty(name, key);
            h5_write_string_attr(d.get(), "__H5_TYPE__", std::string(kStringH5Type));
            h5_write_string_attr(d.get(), "string_value", leaf.as_string());
            break;
        }
        case LeafKind::none: {
            H5Id d = w.empty(name, key);
            h5_write_string_attr(d.get(), "__H5_TYPE__", std::string(kNoneH5Type));
            break;
        }
        case LeafKind::object: {
            const std::string hex = object_hex(leaf, where);
            H5Id d = w.empty(name, key);
            h5_write_string_attr(d.get(), "__H5_TYPE__", std::string(kObjectH5Type));
            h5_write_string_attr(d.get(), "object_value", hex);
            break;
        }
        }
    }
    h5_write_string_attr(w.id(), "__spec__", to_hex(spec_to_pickle(spec)));
    h5_write_double_attr(w.id(), "__version__", 0.4);
    h5_write_string_attr(w.id(), "__cstorch_version__", options.cstorch_version);
    w.close();
}

} // namespace

} // namespace detail

void write_mdl(const std::filesystem::path& path, const Node& root, const MdlWriteOptions& options)
{
    if (!root.is_map())
        throw_input("{}: a .mdl checkpoint must be a dict at the top, got a {}", path.string(),
                    Node::kind_name(root.kind()));
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    detail::h5_init();
    if (options.layout == 4)
        detail::write_layout04(path, root, options);
    else if (options.layout == 5)
        detail::write_layout5(path, root, options);
    else
        throw_input("{}: unknown .mdl layout {} (4 = cs-2.0…2.4, 5 = cs-2.5+)", path.string(), options.layout);
}

} // namespace ckpt
