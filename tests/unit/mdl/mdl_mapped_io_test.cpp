// SPDX-License-Identifier: Apache-2.0
// Reading stored chunks where they lie in a mapped `.mdl`, copying mapped bytes inside the kernel,
// the output file driver, and sources gathered on the worker pool: each must give exactly the
// bytes of the plain path.
#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/mdl/h5_copy_driver.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_filter.hpp"
#include "formats/mdl/mdl.hpp"
#include "mdl_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace ckpt {
namespace {

using test::H5Closer;

std::vector<std::byte> random_bytes(size_t n, uint32_t seed)
{
    std::vector<std::byte> b(n);
    std::mt19937 rng(seed);
    for (auto& x : b)
        x = static_cast<std::byte>(rng());
    return b;
}

// Writes `bytes` to `dir`/in.bin and maps it.
std::shared_ptr<const MappedFile> mapped_input(const test::TempDir& dir, const std::vector<std::byte>& bytes)
{
    test::write_file(dir / "in.bin", std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    return MappedFile::open(dir / "in.bin");
}

TensorPtr random_tensor(DType dtype, std::vector<int64_t> shape, uint32_t seed)
{
    TensorInfo info{dtype, std::move(shape)};
    return std::make_shared<MemoryTensor>(info, random_bytes(info.nbytes(), seed));
}

Node tree_of(const std::vector<std::pair<std::string, TensorPtr>>& tensors)
{
    return test::model_tree(tensors);
}

TEST(CopyMappedBytes, CopiesMappedBytesAtTheOffsetAndNothingElse)
{
    test::TempDir dir;
    const std::vector<std::byte> src = random_bytes(3 << 20, 1);
    const auto map = mapped_input(dir, src);
    const int fd = ::open((dir / "out.bin").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    // At an explicit offset, from the middle of the mapping.
    uint64_t at = 100;
    EXPECT_EQ(copy_mapped_bytes(map->data() + 4096, 1 << 20, fd, &at), uint64_t{1} << 20);
    EXPECT_EQ(at, 100u + (1 << 20));
    // Memory that is not mapped, or runs past the mapping's end, is left to the caller.
    uint64_t other = 0;
    EXPECT_EQ(copy_mapped_bytes(src.data(), 4096, fd, &other), 0u);
    EXPECT_EQ(copy_mapped_bytes(map->data() + map->size() - 10, 20, fd, &other), 0u);
    EXPECT_EQ(other, 0u);
    EXPECT_FALSE(is_mapped(src.data(), 16));
    EXPECT_TRUE(is_mapped(map->data(), map->size()));
    {
        test::ScopedEnv off("CKPTCONV_COPY_FILE_RANGE", "0");
        EXPECT_EQ(copy_mapped_bytes(map->data(), 4096, fd, &other), 0u);
        EXPECT_FALSE(is_mapped(map->data(), 16));
    }
    ::close(fd);
    const std::string out = test::read_file(dir / "out.bin");
    ASSERT_EQ(out.size(), 100u + (1 << 20));
    EXPECT_EQ(std::memcmp(out.data() + 100, src.data() + 4096, 1 << 20), 0);
}

TEST(CopyMappedBytes, NullOffsetWritesAtTheDescriptorsPosition)
{
    test::TempDir dir;
    const std::vector<std::byte> src = random_bytes(1 << 20, 2);
    const auto map = mapped_input(dir, src);
    const int fd = ::open((dir / "out.bin").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "head", 4), 4);
    EXPECT_EQ(copy_mapped_bytes(map->data(), map->size(), fd, nullptr), map->size());
    ASSERT_EQ(::write(fd, "tail", 4), 4);
    ::close(fd);
    const std::string out = test::read_file(dir / "out.bin");
    ASSERT_EQ(out.size(), 8 + src.size());
    EXPECT_EQ(out.substr(0, 4), "head");
    EXPECT_EQ(std::memcmp(out.data() + 4, src.data(), src.size()), 0);
    EXPECT_EQ(out.substr(4 + src.size()), "tail");
}

// Writes the same HDF5 file through `fapl`: a contiguous dataset written from `map`, an
// LZ4-chunked one of the same bytes stored chunk by chunk from a heap buffer, an attribute.
void write_sample(const std::filesystem::path& path, hid_t fapl, const MappedFile& map)
{
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    H5Closer f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    ASSERT_GE(f.id, 0);
    const hsize_t n = 256 * 1024; // floats: 1 MiB
    H5Closer space(H5Screate_simple(1, &n, nullptr));
    H5Closer contiguous(H5Dcreate2(f.id, "plain", H5T_IEEE_F32LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(contiguous.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, map.data()), 0);
    H5Closer dcpl(H5Pcreate(H5P_DATASET_CREATE));
    const hsize_t chunk = 16 * 1024;
    H5Pset_chunk(dcpl.id, 1, &chunk);
    H5Pset_filter(dcpl.id, detail::kLz4FilterId, H5Z_FLAG_OPTIONAL, 0, nullptr);
    H5Closer chunked(H5Dcreate2(f.id, "lz4", H5T_IEEE_F32LE, space.id, H5P_DEFAULT, dcpl.id, H5P_DEFAULT));
    std::vector<unsigned char> framed(detail::lz4_chunk_bound(chunk * 4));
    for (hsize_t c = 0; c < n / chunk; ++c) {
        const hsize_t origin = c * chunk;
        const auto* plain = reinterpret_cast<const unsigned char*>(map.data()) + origin * 4;
        const size_t size = detail::lz4_chunk_compress(plain, chunk * 4, framed.data());
        ASSERT_GT(size, 0u);
        // Framed in a heap buffer: these go through pwrite, the contiguous dataset's bytes were
        // queued as a kernel copy.
        ASSERT_GE(H5Dwrite_chunk(chunked.id, H5P_DEFAULT, 0, &origin, size, framed.data()), 0);
    }
    H5Closer aspace(H5Screate(H5S_SCALAR));
    H5Closer attr(H5Acreate2(chunked.id, "step", H5T_STD_I64LE, aspace.id, H5P_DEFAULT, H5P_DEFAULT));
    const int64_t step = 7;
    H5Awrite(attr.id, H5T_NATIVE_INT64, &step);
}

TEST(H5CopyDriver, WritesTheFileTheDefaultDriverWrites)
{
    test::TempDir dir;
    const std::vector<std::byte> src = random_bytes(1 << 20, 3);
    const auto map = mapped_input(dir, src);
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    detail::h5_init();
    H5Closer sec2(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_sec2(sec2.id);
    write_sample(dir / "sec2.h5", sec2.id, *map);
    H5Closer copy(H5Pcreate(H5P_FILE_ACCESS));
    ASSERT_GE(detail::h5_copy_driver(), 0);
    detail::h5_use_copy_driver(copy.id);
    ASSERT_EQ(H5Pget_driver(copy.id), detail::h5_copy_driver());
    write_sample(dir / "copy.h5", copy.id, *map);
    const std::string a = test::read_file(dir / "sec2.h5"), b = test::read_file(dir / "copy.h5");
    ASSERT_GT(a.size(), 2u << 20);
    EXPECT_TRUE(a == b);
    // …and the contiguous dataset's bytes are the mapped ones, copied in the kernel or not.
    EXPECT_NE(b.find(std::string(reinterpret_cast<const char*>(src.data()), 4096)), std::string::npos);
}

TEST(H5CopyDriver, LocatesStoredChunksWithoutReadingThem)
{
    test::TempDir dir;
    const std::vector<std::byte> src = random_bytes(1 << 20, 4);
    const auto map = mapped_input(dir, src);
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    detail::h5_init();
    {
        H5Closer fapl(H5Pcreate(H5P_FILE_ACCESS));
        write_sample(dir / "s.h5", fapl.id, *map);
    }
    const auto file = MappedFile::open(dir / "s.h5");
    for (bool through_driver : {true, false}) {
        H5Closer fapl(H5Pcreate(H5P_FILE_ACCESS));
        if (through_driver)
            detail::h5_use_copy_driver(fapl.id);
        // The driver opens, read-only, only the input it was told of (H5InputOpen).
        const std::string path = (dir / "s.h5").string();
        const detail::H5InputOpen allowed(path.c_str());
        H5Closer f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id));
        H5Closer d(H5Dopen2(f.id, "lz4", H5P_DEFAULT));
        for (hsize_t origin : {hsize_t{0}, hsize_t{16 * 1024}, hsize_t{240 * 1024}}) {
            detail::ChunkPlace place;
            const bool found = detail::h5_locate_chunk(d.id, &origin, place);
            H5Eclear2(H5E_DEFAULT);
            ASSERT_EQ(found, through_driver) << origin; // another driver really reads: not found
            if (!found)
                continue;
            std::vector<unsigned char> want(place.size);
            uint32_t mask = 9;
            ASSERT_GE(H5Dread_chunk(d.id, H5P_DEFAULT, &origin, &mask, want.data()), 0);
            EXPECT_EQ(mask, place.filter_mask);
            ASSERT_LE(place.offset + place.size, file->size());
            EXPECT_EQ(std::memcmp(file->data() + place.offset, want.data(), want.size()), 0) << origin;
        }
    }
}

TEST(MdlMappedRead, FileWithAUserBlockReadsBackEqual)
{
    // HDF5 addresses count from the superblock, which a user block pushes back: chunks found
    // through the driver are at file offsets, so the mapping is read at the right place.
    test::TempDir dir;
    const TensorPtr t = random_tensor(DType::f32, {300, 500}, 5);
    {
        std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
        detail::h5_init();
        H5Closer fcpl(H5Pcreate(H5P_FILE_CREATE));
        ASSERT_GE(H5Pset_userblock(fcpl.id, 4096), 0);
        H5Closer f(H5Fcreate((dir / "ub.mdl").c_str(), H5F_ACC_TRUNC, fcpl.id, H5P_DEFAULT));
        const hsize_t dims[2] = {300, 500}, chunk[2] = {37, 128};
        H5Closer space(H5Screate_simple(2, dims, nullptr));
        H5Closer dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_chunk(dcpl.id, 2, chunk);
        H5Pset_filter(dcpl.id, detail::kLz4FilterId, H5Z_FLAG_OPTIONAL, 0, nullptr);
        H5Closer d(H5Dcreate2(f.id, "w", H5T_IEEE_F32LE, space.id, H5P_DEFAULT, dcpl.id, H5P_DEFAULT));
        ASSERT_GE(H5Dwrite(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data()), 0);
    }
    const auto file = detail::H5File::open(dir / "ub.mdl");
    ASSERT_NE(file->stored_bytes().data, nullptr);
    {
        std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
        H5Closer d(H5Dopen2(file->id(), "w", H5P_DEFAULT));
        const hsize_t origin[2] = {37, 128};
        detail::ChunkPlace place;
        ASSERT_TRUE(detail::h5_locate_chunk(d.id, origin, place));
        std::vector<unsigned char> want(place.size);
        uint32_t mask = 0;
        ASSERT_GE(H5Dread_chunk(d.id, H5P_DEFAULT, origin, &mask, want.data()), 0);
        ASSERT_NE(file->stored_bytes().at(place.offset, place.size), nullptr);
        EXPECT_EQ(std::memcmp(file->stored_bytes().at(place.offset, place.size), want.data(), want.size()), 0);
    }
    const detail::H5DatasetTensor back(file, "w", t->info());
    EXPECT_TRUE(equal_bytes(back, *t));
    // A piece from the middle, through the chunk cache.
    std::vector<std::byte> piece(4000);
    back.read(123456, piece.data(), piece.size());
    EXPECT_EQ(std::memcmp(piece.data(), t->data() + 123456, piece.size()), 0);
}

// The transpose of a 2-d tensor, computed on every read. `concurrent` says whether the writer may
// read it from several threads at once (as the engine's transposes of mapped inputs say).
class Transposed final : public TensorData {
public:
    Transposed(TensorPtr in, bool concurrent) : m_in(std::move(in)), m_concurrent(concurrent)
    {
        const auto& s = m_in->info().shape;
        m_info = {m_in->info().dtype, {s[1], s[0]}};
    }
    const TensorInfo& info() const override { return m_info; }
    bool concurrent_reads() const override { return m_concurrent; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        const uint64_t es = dtype_size(m_info.dtype);
        const auto rows = static_cast<uint64_t>(m_info.shape[0]), cols = static_cast<uint64_t>(m_info.shape[1]);
        for (uint64_t b = offset; b < offset + size; ++b) {
            const uint64_t e = b / es, r = e / cols, c = e % cols;
            dst[b - offset] = m_in->data()[(c * rows + r) * es + b % es];
        }
    }

private:
    TensorPtr m_in;
    bool m_concurrent;
    TensorInfo m_info;
};

TEST(MdlPoolGather, ConcurrentlyReadSourcesGiveTheSameFile)
{
    test::TempDir dir;
    const TensorPtr a = random_tensor(DType::f32, {700, 333}, 6);
    const TensorPtr b = random_tensor(DType::bf16, {90, 2051}, 7);
    for (bool concurrent : {false, true}) {
        const Node root = tree_of({{"a", std::make_shared<Transposed>(a, concurrent)},
                                   {"b", std::make_shared<Transposed>(b, concurrent)}});
        write_mdl(dir / (concurrent ? "pool.mdl" : "serial.mdl"), root);
    }
    const std::string serial = test::read_file(dir / "serial.mdl");
    ASSERT_GT(serial.size(), 1000000u);
    EXPECT_TRUE(serial == test::read_file(dir / "pool.mdl"));
    const Checkpoint back = read_mdl(dir / "pool.mdl");
    EXPECT_TRUE(equal_bytes(*back.root.find("model")->find("a")->as_tensor(), Transposed(a, false)));
}

TEST(MdlMappedRead, KernelCopiesOnOrOffGiveTheSameFile)
{
    // A rename-only conversion passes stored chunks through, now from the source's mapping into
    // the output inside the kernel; the file is the one pwrite gives.
    test::TempDir dir;
    write_mdl(dir / "src.mdl", tree_of({{"w", random_tensor(DType::f32, {515, 771}, 8)},
                                        {"v", random_tensor(DType::bf16, {129, 67, 3}, 9)}}));
    for (const char* on : {"1", "0"}) {
        test::ScopedEnv env("CKPTCONV_COPY_FILE_RANGE", on);
        const Checkpoint cp = read_mdl(dir / "src.mdl");
        write_mdl(dir / (std::string("out") + on + ".mdl"), cp.root);
    }
    const std::string a = test::read_file(dir / "out1.mdl");
    ASSERT_GT(a.size(), 1000000u);
    EXPECT_TRUE(a == test::read_file(dir / "out0.mdl"));
    test::expect_same_tree(read_mdl(dir / "out1.mdl").root, read_mdl(dir / "src.mdl").root);
}

} // namespace
} // namespace ckpt

namespace ckpt {
namespace {

TEST(MdlMappedRead, RawStoredDatasetsAreReadFromSeveralThreads)
{
    test::TempDir dir;
    const TensorPtr w = random_tensor(DType::f32, {1000, 777}, 10); // raw chunks; zero-padded edges
    const TensorInfo zinfo{DType::f32, {2304, 2304}};                  // 20 MiB that LZ4 shrinks
    const TensorPtr zeros = std::make_shared<MemoryTensor>(zinfo, std::vector<std::byte>(zinfo.nbytes()));
    write_mdl(dir / "m.mdl", tree_of({{"w", w}, {"zeros", zeros}}));
    const Checkpoint cp = read_mdl(dir / "m.mdl");
    const TensorPtr rw = cp.root.find("model")->find("w")->as_tensor();
    const TensorPtr rz = cp.root.find("model")->find("zeros")->as_tensor();
    EXPECT_TRUE(rw->concurrent_reads());
    // Decoding all of it would pass the budget for decoded chunks: read the usual way.
    EXPECT_FALSE(rz->concurrent_reads());
    EXPECT_TRUE(equal_bytes(*rz, *zeros));
    // Two threads, odd offsets and lengths, many times over.
    const uint64_t n = rw->info().nbytes();
    std::vector<std::byte> out(n);
    auto worker = [&](uint64_t from, uint64_t to) {
        for (uint64_t at = from; at < to;) {
            const uint64_t len = std::min<uint64_t>(to - at, 12345);
            rw->read(at, out.data() + at, len);
            at += len;
        }
    };
    std::thread other(worker, n / 2 + 3, n);
    worker(0, n / 2 + 3);
    other.join();
    EXPECT_EQ(std::memcmp(out.data(), w->data(), n), 0);
}

TEST(MdlMappedRead, StoredChunksAreOfferedAsViewsAndBoxes)
{
    // Raw-stored chunks are views into the mapping: a transpose reads them where they lie. Every
    // view and box must hold the tensor's bytes, in a matrix and in a 3-D dataset whose chunks
    // end inside the second dimension.
    test::TempDir dir;
    const TensorPtr w = random_tensor(DType::f32, {1000, 777}, 11);
    const TensorPtr v = random_tensor(DType::bf16, {9, 300, 257}, 12);
    write_mdl(dir / "m.mdl", tree_of({{"w", w}, {"v", v}}));
    const Checkpoint cp = read_mdl(dir / "m.mdl");
    for (const auto& [name, want] : {std::pair{"w", w}, std::pair{"v", v}}) {
        const TensorPtr got = cp.root.find("model")->find(name)->as_tensor();
        ASSERT_TRUE(got->concurrent_reads()) << name;
        const MatrixShape m = matrix_shape(want->info());
        const uint64_t es = dtype_size(want->info().dtype);
        uint64_t views = 0;
        for (uint64_t r0 : {uint64_t{0}, uint64_t{1}, m.rows / 2 + 1, m.rows - 1})
            for (uint64_t c0 : {uint64_t{0}, uint64_t{5}, m.cols / 3, m.cols - 1}) {
                BoxView view;
                ASSERT_TRUE(got->view_box(r0, c0, view)) << name;
                ++views;
                ASSERT_GE(view.rows, 1u);
                ASSERT_GE(view.cols, 1u);
                ASSERT_LE(view.rows, m.rows - r0);
                ASSERT_LE(view.cols, m.cols - c0);
                for (uint64_t r = 0; r < view.rows; ++r)
                    ASSERT_EQ(std::memcmp(view.data + r * view.stride * es,
                                          want->data() + ((r0 + r) * m.cols + c0) * es, view.cols * es),
                              0)
                        << name << " view at (" << r0 << ", " << c0 << ") row " << r;
                const uint64_t h = std::min<uint64_t>(m.rows - r0, 97), wd = std::min<uint64_t>(m.cols - c0, 130);
                std::vector<std::byte> a(h * wd * es), b(h * wd * es);
                got->read_box(r0, c0, h, wd, a.data(), wd);
                want->read_box(r0, c0, h, wd, b.data(), wd);
                ASSERT_EQ(a, b) << name << " box at (" << r0 << ", " << c0 << ")";
            }
        EXPECT_EQ(views, 16u);
    }
}

} // namespace
} // namespace ckpt
