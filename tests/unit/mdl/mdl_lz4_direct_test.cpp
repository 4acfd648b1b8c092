// SPDX-License-Identifier: Apache-2.0
// LZ4 chunks compressed and decompressed on the worker pool (H5Dwrite_chunk / H5Dread_chunk):
// the same file bytes and tensors as HDF5's filter path, fallbacks, and corrupt chunks refused.
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_chunk_io.hpp"
#include "formats/mdl/lz4_filter.hpp"
#include "formats/mdl/worker_pool.hpp"
#include "mdl_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace ckpt {
namespace {

using test::H5Closer;

// Sets CKPTCONV_MDL_LZ4_DIRECT for one scope.
class DirectSwitch : public test::ScopedEnv {
public:
    explicit DirectSwitch(bool on) : test::ScopedEnv("CKPTCONV_MDL_LZ4_DIRECT", on ? "1" : "0") {}
};

// Random bytes (incompressible: LZ4 blocks stored raw) or a short repeating pattern (compressible).
TensorPtr make_tensor(DType dtype, std::vector<int64_t> shape, uint32_t seed, bool compressible = false)
{
    TensorInfo info{dtype, std::move(shape)};
    std::vector<std::byte> b(info.nbytes());
    std::mt19937 rng(seed);
    for (size_t i = 0; i < b.size(); ++i)
        b[i] = static_cast<std::byte>(compressible ? (i % 97 < 50 ? 0 : i % 7 + seed) : rng());
    if (dtype == DType::boolean)
        for (auto& v : b)
            v = static_cast<std::byte>(static_cast<unsigned>(v) & 1);
    return std::make_shared<MemoryTensor>(info, std::move(b));
}

// The same bytes without a mapping, so the writer has to read them piece by piece.
class UnmappedTensor final : public TensorData {
public:
    explicit UnmappedTensor(TensorPtr inner) : m_inner(std::move(inner)) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override { m_inner->read(offset, dst, size); }

private:
    TensorPtr m_inner;
};

// Odd shapes: edge chunks in one and in every dimension, tensors smaller than one chunk, 0-d,
// empty, 1-d, bf16 and the other dtypes h5py stores.
std::vector<std::pair<std::string, TensorPtr>> odd_tensors()
{
    return {
        {"edge0", make_tensor(DType::f32, {37, 1000}, 1)},
        {"edge_both", make_tensor(DType::f32, {37, 1001}, 2, true)},
        {"many_chunks", make_tensor(DType::f32, {515, 771}, 3)},
        {"packed", make_tensor(DType::f32, {512, 768}, 4, true)},
        {"bf16_small", make_tensor(DType::bf16, {3, 5, 7}, 5)},
        {"bf16_3d", make_tensor(DType::bf16, {129, 67, 3}, 6, true)},
        {"one_d", make_tensor(DType::f32, {100003}, 7)},
        {"one_elem", make_tensor(DType::f16, {1}, 8)},
        {"zero_d", make_tensor(DType::f32, {}, 9)},
        {"empty", make_tensor(DType::f32, {0, 4}, 10)},
        {"i64", make_tensor(DType::i64, {1000, 3}, 11)},
        {"mask", make_tensor(DType::boolean, {33, 17}, 12)},
        {"c64", make_tensor(DType::c64, {1000}, 13)},
        {"u8", make_tensor(DType::u8, {300, 301}, 14, true)},
        {"f64_4d", make_tensor(DType::f64, {3, 17, 5, 11}, 15)},
    };
}

Node tree_of(const std::vector<std::pair<std::string, TensorPtr>>& tensors, bool unmapped = false)
{
    Node model = Node::map();
    for (const auto& [name, t] : tensors)
        model.set(name, unmapped ? TensorPtr(std::make_shared<UnmappedTensor>(t)) : t);
    Node root = Node::map();
    root.set("model", model);
    root.set("step", Node(int64_t{7}));
    return root;
}

std::string file_bytes(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(MdlLz4Direct, FileIsByteIdenticalToTheFilterPath)
{
    test::TempDir dir;
    const auto tensors = odd_tensors();
    for (int layout : {4, 5}) {
        MdlWriteOptions o;
        o.layout = layout;
        {
            DirectSwitch off(false);
            write_mdl(dir / "filter.mdl", tree_of(tensors), o);
        }
        {
            DirectSwitch on(true);
            write_mdl(dir / "direct.mdl", tree_of(tensors), o);
            write_mdl(dir / "direct_unmapped.mdl", tree_of(tensors, true), o);
        }
        const std::string filter = file_bytes(dir / "filter.mdl");
        ASSERT_GT(filter.size(), 1000000u);
        EXPECT_TRUE(filter == file_bytes(dir / "direct.mdl")) << "layout " << layout;
        EXPECT_TRUE(filter == file_bytes(dir / "direct_unmapped.mdl")) << "layout " << layout;
    }
}

TEST(MdlLz4Direct, DirectWritesChunksWithTheLz4Filter)
{
    // Guards the comparison above: both files really are chunked LZ4 (not e.g. contiguous).
    test::TempDir dir;
    DirectSwitch on(true);
    write_mdl(dir / "d.mdl", tree_of({{"w", make_tensor(DType::f32, {515, 771}, 3)}}));
    H5Closer f(H5Fopen((dir / "d.mdl").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    ASSERT_GE(f.id, 0);
    H5Closer d(H5Dopen2(f.id, "model.w", H5P_DEFAULT));
    ASSERT_GE(d.id, 0);
    H5Closer dcpl(H5Dget_create_plist(d.id));
    EXPECT_EQ(H5Pget_layout(dcpl.id), H5D_CHUNKED);
    ASSERT_EQ(H5Pget_nfilters(dcpl.id), 1);
    unsigned flags = 0, config = 0;
    size_t n = 0;
    EXPECT_EQ(H5Pget_filter2(dcpl.id, 0, &flags, &n, nullptr, 0, nullptr, &config), detail::kLz4FilterId);
    H5Closer space(H5Dget_space(d.id));
    hsize_t chunks = 0;
    ASSERT_GE(H5Dget_num_chunks(d.id, space.id, &chunks), 0);
    EXPECT_GT(chunks, 4u);
}

TEST(MdlLz4Direct, ReadsBackEqualToTheSourceOnBothPaths)
{
    test::TempDir dir;
    const auto tensors = odd_tensors();
    write_mdl(dir / "d.mdl", tree_of(tensors));
    for (bool direct : {true, false}) {
        DirectSwitch sw(direct);
        const Checkpoint cp = read_mdl(dir / "d.mdl");
        for (const auto& [name, t] : tensors) {
            const TensorPtr r = cp.root.find("model")->find(name)->as_tensor();
            EXPECT_EQ(describe(r->info()), describe(t->info())) << name;
            EXPECT_TRUE(equal_bytes(*t, *r)) << name << (direct ? " (direct)" : " (filter)");
        }
    }
}

TEST(MdlLz4Direct, PartialReadsMatchTheSource)
{
    // Ranges of every size and alignment, including reads inside one row (a transposing reader)
    // and reads that start or end mid-element.
    test::TempDir dir;
    const auto tensors = odd_tensors();
    write_mdl(dir / "d.mdl", tree_of(tensors));
    DirectSwitch on(true);
    const Checkpoint cp = read_mdl(dir / "d.mdl");
    std::mt19937_64 rng(42);
    for (const auto& [name, t] : tensors) {
        const auto whole = read_all(*t);
        if (whole.empty())
            continue;
        const TensorPtr r = cp.root.find("model")->find(name)->as_tensor();
        for (int i = 0; i < 60; ++i) {
            const uint64_t off = rng() % whole.size();
            const uint64_t max_len = whole.size() - off;
            const uint64_t len = 1 + (i % 3 == 0 ? rng() % max_len : rng() % std::min<uint64_t>(max_len, 5000));
            std::vector<std::byte> got(len);
            r->read(off, got.data(), len);
            ASSERT_EQ(0, std::memcmp(got.data(), whole.data() + off, len)) << name << " " << off << "+" << len;
        }
        // Row by row in column bands, as the transpose kernel reads an unmapped source.
        if (t->info().shape.size() == 2) {
            const uint64_t rows = t->info().shape[0], cols = t->info().shape[1];
            const uint64_t es = dtype_size(t->info().dtype);
            const uint64_t band = std::max<uint64_t>(1, cols / 3);
            for (uint64_t c0 = 0; c0 < cols; c0 += band)
                for (uint64_t row = 0; row < rows; ++row) {
                    const uint64_t w = std::min(band, cols - c0);
                    std::vector<std::byte> got(w * es);
                    r->read((row * cols + c0) * es, got.data(), w * es);
                    ASSERT_EQ(0, std::memcmp(got.data(), whole.data() + (row * cols + c0) * es, w * es))
                        << name << " row " << row << " col " << c0;
                }
        }
    }
}

TEST(MdlLz4Direct, SequentialPiecesMatchTheSource)
{
    // Each read continues the previous one, so the chunks after it are decompressed ahead.
    test::TempDir dir;
    const auto tensors = odd_tensors();
    write_mdl(dir / "d.mdl", tree_of(tensors));
    DirectSwitch on(true);
    for (uint64_t piece : {uint64_t{7919}, uint64_t{100} << 10, uint64_t{1} << 20}) {
        const Checkpoint cp = read_mdl(dir / "d.mdl");
        for (const auto& [name, t] : tensors) {
            const auto whole = read_all(*t);
            const TensorPtr r = cp.root.find("model")->find(name)->as_tensor();
            std::vector<std::byte> got(whole.size());
            for (uint64_t off = 0; off < whole.size(); off += piece)
                r->read(off, got.data() + off, std::min<uint64_t>(piece, whole.size() - off));
            EXPECT_TRUE(got == whole) << name << " in pieces of " << piece;
        }
    }
}

// A small LZ4 dataset written with the HDF5 C API, for chunks the writer never makes.
struct RawDataset {
    std::filesystem::path path;
    std::vector<hsize_t> dims{40, 30}, chunk{16, 16};
    size_t chunk_bytes() const { return chunk[0] * chunk[1] * 4; }
};

void create_dataset(const RawDataset& ds)
{
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    detail::h5_init();
    H5Closer f(H5Fcreate(ds.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    H5Closer space(H5Screate_simple(2, ds.dims.data(), nullptr));
    H5Closer dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.id, 2, ds.chunk.data());
    const unsigned cd[1] = {0};
    H5Pset_filter(dcpl.id, detail::kLz4FilterId, H5Z_FLAG_OPTIONAL, 1, cd);
    H5Closer d(H5Dcreate2(f.id, "d", H5T_IEEE_F32LE, space.id, H5P_DEFAULT, dcpl.id, H5P_DEFAULT));
    ASSERT_GE(d.id, 0);
}

// Stores `bytes` as the chunk at `origin` with `mask`, bypassing every filter.
void put_chunk(const RawDataset& ds, std::vector<hsize_t> origin, const std::vector<unsigned char>& bytes,
               uint32_t mask = 0)
{
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    H5Closer f(H5Fopen(ds.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    H5Closer d(H5Dopen2(f.id, "d", H5P_DEFAULT));
    ASSERT_GE(H5Dwrite_chunk(d.id, H5P_DEFAULT, mask, origin.data(), bytes.size(), bytes.data()), 0);
}

std::vector<unsigned char> packed(const std::vector<unsigned char>& plain)
{
    std::vector<unsigned char> out(detail::lz4_chunk_bound(plain.size()));
    out.resize(detail::lz4_chunk_compress(plain.data(), plain.size(), out.data()));
    return out;
}

// The whole dataset, in one read or row by row (each read continuing the last).
std::vector<std::byte> read_dataset(const RawDataset& ds, bool by_rows = false)
{
    auto t = std::make_shared<detail::H5DatasetTensor>(detail::H5File::open(ds.path), "d",
                                                       TensorInfo{DType::f32, {40, 30}});
    if (!by_rows)
        return read_all(*t);
    std::vector<std::byte> out(40 * 30 * 4);
    for (uint64_t r = 0; r < 40; ++r)
        t->read(r * 120, out.data() + r * 120, 120);
    return out;
}

TEST(MdlLz4Direct, UnfilteredAndUnwrittenChunksFallBackToHdf5)
{
    test::TempDir dir;
    RawDataset ds{dir / "raw.h5"};
    create_dataset(ds);
    std::vector<unsigned char> a(ds.chunk_bytes(), 0x11), b(ds.chunk_bytes(), 0x22);
    put_chunk(ds, {0, 0}, packed(a));
    put_chunk(ds, {0, 16}, b, 1); // stored raw, as HDF5 does when an optional filter fails
    // Chunks of rows 16..39 are never written: HDF5 supplies the fill value, 0.
    for (bool direct : {true, false}) {
        DirectSwitch sw(direct);
        const auto got = read_dataset(ds);
        for (hsize_t r = 0; r < 40; ++r)
            for (hsize_t c = 0; c < 30; ++c) {
                const unsigned v = static_cast<unsigned>(got[(r * 30 + c) * 4]);
                const unsigned want = r >= 16 ? 0 : c < 16 ? 0x11 : 0x22;
                ASSERT_EQ(v, want) << r << "," << c << (direct ? " (direct)" : " (filter)");
            }
    }
}

// `filter_too`: HDF5's filter path refuses the chunk as well.
void expect_corrupt(const RawDataset& ds, const std::vector<unsigned char>& chunk, const std::string& why,
                    bool filter_too = true)
{
    put_chunk(ds, {16, 0}, chunk);
    for (int mode = 0; mode < 3; ++mode) {
        // 0: direct, one read; 1: direct, row by row (the corrupt chunk is met by read-ahead
        // first and must still be reported when a read needs it); 2: HDF5's filter.
        const bool direct = mode < 2;
        if (!direct && !filter_too)
            continue;
        DirectSwitch sw(direct);
        try {
            read_dataset(ds, mode == 1);
            ADD_FAILURE() << why << ": no error" << (direct ? " (direct)" : " (filter)");
        } catch (const InputError& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(ds.path.string()), std::string::npos) << msg;
            EXPECT_NE(msg.find("'d'"), std::string::npos) << msg;
            if (direct) {
                EXPECT_NE(msg.find(why), std::string::npos) << msg;
            }
        }
    }
}

TEST(MdlLz4Direct, CorruptChunksAreInputErrorsNamingFileAndDataset)
{
    test::TempDir dir;
    RawDataset ds{dir / "bad.h5"};
    create_dataset(ds);
    const std::vector<unsigned char> plain(ds.chunk_bytes(), 0x33);
    std::vector<unsigned char> good = packed(plain);
    ASSERT_GT(good.size(), 16u);
    for (hsize_t r : {0, 16, 32}) // every chunk present, so only the corrupt one can fail
        for (hsize_t c : {0, 16})
            put_chunk(ds, {r, c}, good);

    std::vector<unsigned char> garbled = good;
    for (size_t i = 16; i < garbled.size(); ++i)
        garbled[i] = 0xff; // the LZ4 sequence now copies from before the start
    expect_corrupt(ds, garbled, "does not decode");

    std::vector<unsigned char> wrong_size = good;
    wrong_size[7] ^= 0x04; // the header claims 4 bytes too many or too few
    expect_corrupt(ds, wrong_size, "claims");

    std::vector<unsigned char> huge = good;
    huge[0] = 0x7f; // claims ~9 EB: refused before anything is allocated
    expect_corrupt(ds, huge, "malformed");

    expect_corrupt(ds, std::vector<unsigned char>(good.begin(), good.begin() + 5), "malformed");

    std::vector<unsigned char> oversized(detail::lz4_chunk_bound(ds.chunk_bytes()) + 1, 0);
    oversized.insert(oversized.begin(), good.begin(), good.end());
    // The filter ignores bytes after the last block; no LZ4 writer leaves any, and the direct
    // path refuses a stored size it cannot bound rather than allocate it.
    expect_corrupt(ds, oversized, "more than LZ4 can make", false);
}

TEST(Lz4Framing, CompressThenDecompressIsIdentity)
{
    for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{65536}, size_t{1} << 20}) {
        std::vector<unsigned char> in(n);
        for (size_t i = 0; i < n; ++i)
            in[i] = static_cast<unsigned char>(i % 13 == 0 ? i : 0);
        std::vector<unsigned char> out(detail::lz4_chunk_bound(n));
        const size_t m = detail::lz4_chunk_compress(in.data(), n, out.data());
        ASSERT_GE(m, 12u);
        std::vector<unsigned char> back(n);
        EXPECT_EQ(detail::lz4_chunk_decompress(out.data(), m, back.data(), n), "");
        EXPECT_EQ(back, in);
        if (n > 0) {
            EXPECT_NE(detail::lz4_chunk_decompress(out.data(), m, back.data(), n - 1), "");
        }
    }
}

TEST(WorkerPool, RunsEveryTaskOnceAndRethrows)
{
    detail::WorkerPool pool(3);
    EXPECT_EQ(pool.threads(), 4u);
    std::vector<std::atomic<int>> hits(5000);
    pool.run(hits.size(), [&](size_t i) { hits[i]++; });
    for (auto& h : hits)
        ASSERT_EQ(h.load(), 1);
    // Two batches in flight at once, as the writer keeps them.
    std::atomic<uint64_t> sum_a{0}, sum_b{0};
    auto a = pool.submit(1000, [&](size_t i) { sum_a += i; });
    auto b = pool.submit(1000, [&](size_t i) { sum_b += 2 * i; });
    pool.wait(*b);
    pool.wait(*a);
    EXPECT_EQ(sum_a.load(), 999u * 1000 / 2);
    EXPECT_EQ(sum_b.load(), 999u * 1000);
    EXPECT_THROW(pool.run(100, [](size_t i) {
        if (i == 37)
            throw std::runtime_error("task 37");
    }),
                 std::runtime_error);
    std::atomic<int> after{0};
    pool.run(10, [&](size_t) { after++; });
    EXPECT_EQ(after.load(), 10);
    detail::WorkerPool none(0); // one core: everything runs on the caller
    int n = 0;
    none.run(7, [&](size_t) { ++n; });
    EXPECT_EQ(n, 7);
}

} // namespace
} // namespace ckpt
