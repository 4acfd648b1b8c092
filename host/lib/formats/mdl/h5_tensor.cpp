// SPDX-License-Identifier: Apache-2.0
// Lazy HDF5 dataset tensors: dtype mapping and hyperslab reads of arbitrary byte ranges.
#include "formats/mdl/h5_tensor.hpp"

#include "core/error.hpp"
#include "formats/mdl/h5_copy_driver.hpp"

#include <algorithm>
#include <cstring>

namespace ckpt::detail {

std::shared_ptr<const H5File> H5File::open(const std::filesystem::path& path)
{
    std::lock_guard<std::recursive_mutex> lock(h5_mutex());
    h5_init();
    std::shared_ptr<H5File> f(new H5File());
    f->m_path = path;
    H5Id fapl = h5_check(H5Pcreate(H5P_FILE_ACCESS), "file access properties");
    h5_relax_file_locking(fapl.get());
    h5_use_copy_driver(fapl.get()); // finds stored chunks without reading them (lz4_chunk_io)
    {
        const H5InputOpen allowed(path.c_str());
        f->m_id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
    }
    if (f->m_id < 0)
        throw_input("{}: cannot open as an HDF5 file: {}", path.string(), h5_error_text());
    // Chunks are read from the mapping only where the driver can say where they are.
    if (h5_copy_driver() >= 0 && H5Pget_driver(fapl.get()) == h5_copy_driver()) {
        try {
            f->m_map = MappedFile::open(path);
            f->m_stored = StoredBytes{f->m_map->data(), f->m_map->size()};
        } catch (const InputError&) { // HDF5 reads it; only slower
            f->m_map.reset();
        }
    }
    H5Eclear2(H5E_DEFAULT);
    return f;
}

H5File::~H5File()
{
    if (m_id >= 0) {
        std::lock_guard<std::recursive_mutex> lock(h5_mutex());
        H5Fclose(m_id);
        H5Eclear2(H5E_DEFAULT);
    }
}

std::string h5_type_label(hid_t type)
{
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: return fmt::format("{}-byte integer", H5Tget_size(type));
    case H5T_FLOAT: return fmt::format("{}-byte float", H5Tget_size(type));
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum";
    case H5T_COMPOUND: return "compound";
    default: return fmt::format("HDF5 type of class {}", static_cast<int>(H5Tget_class(type)));
    }
}

DType dtype_of_h5_type(hid_t type, bool is_bfloat16, const std::string& where)
{
    const H5T_class_t cls = H5Tget_class(type);
    const size_t size = H5Tget_size(type);
    auto refuse = [&](std::string_view what) -> DType {
        throw_input("{}: {} cannot be read as a tensor", where, what);
    };
    if (is_bfloat16 && !((cls == H5T_INTEGER || cls == H5T_FLOAT) && size == 2))
        throw_input("{}: is_bfloat16 is set but the dataset is a {}, not a 16-bit type", where, h5_type_label(type));
    switch (cls) {
    case H5T_INTEGER: {
        const bool sgn = H5Tget_sign(type) == H5T_SGN_2;
        if (is_bfloat16)
            return DType::bf16;
        switch (size) {
        case 1: return sgn ? DType::i8 : DType::u8;
        case 2: return sgn ? DType::i16 : DType::u16;
        case 4: return sgn ? DType::i32 : DType::u32;
        case 8: return sgn ? DType::i64 : DType::u64;
        default: return refuse(fmt::format("a {}-byte integer", size));
        }
    }
    case H5T_FLOAT: {
        if (size == 8)
            return DType::f64;
        if (size == 4)
            return DType::f32;
        if (size == 2) {
            size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
            if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0)
                return refuse("a 16-bit float with unreadable fields");
            if (esize == 5 && msize == 10)
                return DType::f16;
            if (esize == 8 && msize == 7)
                return DType::bf16;
            return refuse(fmt::format("a 16-bit float with {} exponent and {} mantissa bits", esize, msize));
        }
        return refuse(fmt::format("a {}-byte float", size));
    }
    case H5T_ENUM:
        if (size == 1 && H5Tget_nmembers(type) == 2)
            return DType::boolean; // h5py's numpy bool
        return refuse("an enum other than h5py's bool");
    case H5T_COMPOUND: {
        if (H5Tget_nmembers(type) != 2)
            return refuse("a compound type other than h5py's complex");
        H5Id r(H5Tget_member_type(type, 0)), i(H5Tget_member_type(type, 1));
        if (r.valid() && i.valid() && H5Tget_class(r.get()) == H5T_FLOAT && H5Tget_class(i.get()) == H5T_FLOAT &&
            H5Tget_size(r.get()) == H5Tget_size(i.get()) && size == 2 * H5Tget_size(r.get())) {
            if (size == 8)
                return DType::c64;
            if (size == 16)
                return DType::c128;
        }
        return refuse("a compound type other than h5py's complex");
    }
    case H5T_STRING:
        return refuse("a string dataset");
    default:
        return refuse(fmt::format("an HDF5 type of class {}", static_cast<int>(cls)));
    }
}

namespace {
H5Id copy_type(hid_t t)
{
    return h5_check(H5Tcopy(t), "copy HDF5 type");
}

H5Id complex_type(hid_t part, size_t part_size, const char* rname, const char* iname)
{
    H5Id c = h5_check(H5Tcreate(H5T_COMPOUND, 2 * part_size), "complex type");
    h5_check_status(H5Tinsert(c.get(), rname, 0, part), "complex type");
    h5_check_status(H5Tinsert(c.get(), iname, part_size, part), "complex type");
    return c;
}
} // namespace

H5Id h5_memory_type(DType dtype, hid_t file_type)
{
    switch (dtype) {
    case DType::f64: return copy_type(H5T_IEEE_F64LE);
    case DType::f32: return copy_type(H5T_IEEE_F32LE);
    case DType::f16: return h5_half_type();
    case DType::bf16: {
        if (file_type >= 0 && H5Tget_class(file_type) == H5T_FLOAT) {
            H5Id t = copy_type(file_type);
            H5Tset_order(t.get(), H5T_ORDER_LE);
            return t;
        }
        // Keep the file's signedness: converting between I16 and U16 would clamp bit patterns.
        const bool sgn = file_type < 0 || H5Tget_sign(file_type) == H5T_SGN_2;
        return copy_type(sgn ? H5T_STD_I16LE : H5T_STD_U16LE);
    }
    case DType::i64: return copy_type(H5T_STD_I64LE);
    case DType::i32: return copy_type(H5T_STD_I32LE);
    case DType::i16: return copy_type(H5T_STD_I16LE);
    case DType::i8: return copy_type(H5T_STD_I8LE);
    case DType::u64: return copy_type(H5T_STD_U64LE);
    case DType::u32: return copy_type(H5T_STD_U32LE);
    case DType::u16: return copy_type(H5T_STD_U16LE);
    case DType::u8: return copy_type(H5T_STD_U8LE);
    case DType::boolean: return file_type >= 0 ? copy_type(file_type) : h5_bool_type();
    case DType::c64:
    case DType::c128: {
        const hid_t part = dtype == DType::c64 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
        const size_t ps = dtype == DType::c64 ? 4 : 8;
        if (file_type >= 0 && H5Tget_class(file_type) == H5T_COMPOUND) {
            // Compound conversion matches members by name: use the file's names.
            char* rn = H5Tget_member_name(file_type, 0);
            char* in = H5Tget_member_name(file_type, 1);
            H5Id t = complex_type(part, ps, rn ? rn : "r", in ? in : "i");
            H5free_memory(rn);
            H5free_memory(in);
            return t;
        }
        return complex_type(part, ps, "r", "i");
    }
    default:
        throw_input("no HDF5 type for {}", dtype_name(dtype));
    }
}

H5Id h5_file_type(DType dtype, const std::string& where)
{
    switch (dtype) {
    case DType::bf16: return copy_type(H5T_STD_I16LE); // cstorch: tensor.view(int16)
    case DType::boolean: return h5_bool_type();
    case DType::f8_e4m3:
    case DType::f8_e5m2:
    case DType::invalid:
        throw_input("{}: a {} tensor cannot be stored in a .mdl file (no HDF5/numpy type holds it)", where,
                    dtype_name(dtype));
    default: return h5_memory_type(dtype, H5I_INVALID_HID);
    }
}

namespace {

void boxes_at(const std::vector<int64_t>& shape, const std::vector<uint64_t>& stride, size_t d,
              std::vector<hsize_t>& prefix, uint64_t a, uint64_t b, std::vector<H5Box>& out)
{
    const size_t rank = shape.size();
    if (a >= b)
        return;
    auto emit = [&](uint64_t lo, uint64_t hi) { // rows [lo, hi) of dim d, full below
        H5Box box;
        box.start = prefix;
        box.count.assign(prefix.size(), 1);
        box.start.push_back(lo);
        box.count.push_back(hi - lo);
        for (size_t k = d + 1; k < rank; ++k) {
            box.start.push_back(0);
            box.count.push_back(static_cast<hsize_t>(shape[k]));
        }
        out.push_back(std::move(box));
    };
    if (d + 1 == rank) {
        emit(a, b);
        return;
    }
    const uint64_t s = stride[d];
    uint64_t i0 = a / s;
    const uint64_t i1 = b / s;
    if (i0 == i1) {
        prefix.push_back(i0);
        boxes_at(shape, stride, d + 1, prefix, a - i0 * s, b - i0 * s, out);
        prefix.pop_back();
        return;
    }
    if (a % s) {
        prefix.push_back(i0);
        boxes_at(shape, stride, d + 1, prefix, a % s, s, out);
        prefix.pop_back();
        ++i0;
    }
    if (i1 > i0)
        emit(i0, i1);
    if (b % s) {
        prefix.push_back(i1);
        boxes_at(shape, stride, d + 1, prefix, 0, b % s, out);
        prefix.pop_back();
    }
}

} // namespace

std::vector<H5Box> flat_range_boxes(const std::vector<int64_t>& shape, uint64_t first, uint64_t last)
{
    std::vector<H5Box> out;
    if (shape.empty() || first >= last)
        return out;
    std::vector<uint64_t> stride(shape.size(), 1);
    for (size_t k = shape.size() - 1; k > 0; --k)
        stride[k - 1] = stride[k] * static_cast<uint64_t>(shape[k]);
    std::vector<hsize_t> prefix;
    boxes_at(shape, stride, 0, prefix, first, last, out);
    return out;
}

H5DatasetTensor::H5DatasetTensor(std::shared_ptr<const H5File> file, std::string dataset, TensorInfo info)
    : m_file(std::move(file)), m_dataset(std::move(dataset)), m_info(std::move(info))
{
}

namespace {
/// Decompressed chunks kept per open dataset: enough for a row of chunks of any tensor the
/// writer's 1 MiB chunks produce, small next to the memory budget.
constexpr size_t kChunkCacheBytes = size_t{32} << 20;
} // namespace

void H5DatasetTensor::read_elements(hid_t dset, hid_t mem_type, uint64_t first, uint64_t last,
                                    std::byte* dst) const
{
    if (m_direct) {
        if (m_direct->read(first, last, dst))
            return;
        m_direct.reset(); // a chunk the direct path does not handle: HDF5 reads this dataset
    }
    const std::string what = fmt::format("{}: cannot read dataset '{}'", m_file->path().string(), m_dataset);
    const uint64_t n = m_info.numel();
    if (m_info.shape.empty() || (first == 0 && last == n)) {
        h5_check_status(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst), what);
        return;
    }
    // One read per box, each with a memory space of the box's own shape: a flat memory space
    // against an N-d selection sends HDF5 down a per-element path that is many times slower.
    // The boxes tile [first, last) in order, so each lands right after the previous one.
    H5Id fspace = h5_check(H5Dget_space(dset), what);
    const size_t es = H5Tget_size(mem_type);
    for (const auto& box : flat_range_boxes(m_info.shape, first, last)) {
        h5_check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, box.start.data(), nullptr,
                                            box.count.data(), nullptr),
                        what);
        H5Id mspace = h5_check(H5Screate_simple(static_cast<int>(box.count.size()), box.count.data(), nullptr), what);
        h5_check_status(H5Dread(dset, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, dst), what);
        hsize_t elems = 1;
        for (hsize_t c : box.count)
            elems *= c;
        dst += elems * es;
    }
}

const MappedChunks* H5DatasetTensor::mapped_chunks() const
{
    const int state = m_chunks_state.load(std::memory_order_acquire);
    if (state != 0)
        return state == 1 ? m_chunks.get() : nullptr;
    std::lock_guard<std::recursive_mutex> lock(h5_mutex());
    if (m_chunks_state.load(std::memory_order_relaxed) == 0) {
        const std::string what = fmt::format("{}: cannot read dataset '{}'", m_file->path().string(), m_dataset);
        if (m_file->stored_bytes().data && !m_info.shape.empty() && m_info.nbytes() != 0) {
            H5Id dset = h5_check(H5Dopen2(m_file->id(), m_dataset.c_str(), H5P_DEFAULT), what);
            H5Id ftype = h5_check(H5Dget_type(dset.get()), what);
            H5Id mtype = h5_memory_type(m_info.dtype, ftype.get());
            m_chunks = MappedChunks::open(dset.get(), ftype.get(), mtype.get(), m_info.shape, m_file->stored_bytes());
        }
        m_chunks_state.store(m_chunks ? 1 : 2, std::memory_order_release);
    }
    return m_chunks.get();
}

bool H5DatasetTensor::concurrent_reads() const
{
    return mapped_chunks() != nullptr;
}

bool H5DatasetTensor::view_box(uint64_t row, uint64_t col, BoxView& out) const
{
    const MappedChunks* chunks = mapped_chunks();
    if (!chunks)
        return false;
    out = chunks->view(row, col);
    return true;
}

void H5DatasetTensor::read(uint64_t offset, std::byte* dst, uint64_t size) const
{
    const uint64_t total = m_info.nbytes();
    if (offset > total || size > total - offset)
        throw_input("{}: read of {} bytes at offset {} is outside dataset '{}' ({} bytes)",
                    m_file->path().string(), size, offset, m_dataset, total);
    if (size == 0)
        return;
    if (const MappedChunks* chunks = mapped_chunks()) { // no HDF5, no lock: plain copies
        const uint64_t es = dtype_size(m_info.dtype);
        const uint64_t first = offset / es, last = (offset + size + es - 1) / es;
        if (offset % es == 0 && size % es == 0) {
            chunks->read(first, last, dst);
        } else {
            std::vector<std::byte> buf((last - first) * es);
            chunks->read(first, last, buf.data());
            std::memcpy(dst, buf.data() + (offset - first * es), size);
        }
        return;
    }
    std::lock_guard<std::recursive_mutex> lock(h5_mutex());
    if (!m_dset.valid()) {
        const std::string what = fmt::format("{}: cannot read dataset '{}'", m_file->path().string(), m_dataset);
        H5Id dapl = h5_check(H5Pcreate(H5P_DATASET_ACCESS), what);
        h5_check_status(H5Pset_chunk_cache(dapl.get(), 12007, kChunkCacheBytes, 1.0), what);
        m_dset = h5_check(H5Dopen2(m_file->id(), m_dataset.c_str(), dapl.get()), what);
        H5Id ftype = h5_check(H5Dget_type(m_dset.get()), what);
        m_mtype = h5_memory_type(m_info.dtype, ftype.get());
        m_direct = Lz4ChunkReader::open(m_dset.get(), ftype.get(), m_mtype.get(), m_info.shape,
                                        m_file->stored_bytes(), m_file->path().string(), m_dataset);
    }
    const uint64_t es = dtype_size(m_info.dtype);
    const uint64_t first = offset / es;
    const uint64_t last = (offset + size + es - 1) / es;
    if (offset % es == 0 && size % es == 0) {
        read_elements(m_dset.get(), m_mtype.get(), first, last, dst);
    } else {
        std::vector<std::byte> buf((last - first) * es);
        read_elements(m_dset.get(), m_mtype.get(), first, last, buf.data());
        std::memcpy(dst, buf.data() + (offset - first * es), size);
    }
    if (offset + size == total) { // a sequential reader is done: give the cache back
        m_direct.reset();
        m_mtype.reset();
        m_dset.reset();
    }
}

bool H5DatasetTensor::copy_stored_chunks(hid_t dst, const std::vector<hsize_t>& chunk, hid_t file_type,
                                         const std::string& what) const
{
    std::lock_guard<std::recursive_mutex> lock(h5_mutex());
    const std::string where = fmt::format("{}: cannot read dataset '{}'", m_file->path().string(), m_dataset);
    // A handle of its own without a chunk cache: stored chunks bypass the cache, and a reader's
    // open handle keeps its state.
    H5Id dapl = h5_check(H5Pcreate(H5P_DATASET_ACCESS), where);
    h5_check_status(H5Pset_chunk_cache(dapl.get(), 0, 0, 1.0), where);
    H5Id dset = h5_check(H5Dopen2(m_file->id(), m_dataset.c_str(), dapl.get()), where);
    const std::vector<hsize_t> dims(m_info.shape.begin(), m_info.shape.end());
    return copy_lz4_chunks(dset.get(), dst, dims, chunk, file_type, m_file->stored_bytes(), m_file->path().string(),
                           m_dataset, what);
}

H5DatasetTensor::~H5DatasetTensor()
{
    std::lock_guard<std::recursive_mutex> lock(h5_mutex());
    m_direct.reset();
    m_mtype.reset();
    m_dset.reset();
}

FullTensor::FullTensor(TensorInfo info, std::vector<std::byte> element)
    : m_info(std::move(info)), m_element(std::move(element))
{
    if (m_element.size() != dtype_size(m_info.dtype))
        throw_input("constant tensor {}: fill value has {} bytes", describe(m_info), m_element.size());
}

void FullTensor::read(uint64_t offset, std::byte* dst, uint64_t size) const
{
    const uint64_t total = m_info.nbytes();
    if (offset > total || size > total - offset)
        throw_input("read of {} bytes at offset {} is outside a constant tensor of {} bytes", size, offset, total);
    const uint64_t es = m_element.size();
    for (uint64_t i = 0; i < size; ++i)
        dst[i] = m_element[(offset + i) % es];
}

} // namespace ckpt::detail
