// SPDX-License-Identifier: Apache-2.0
// Stored LZ4 chunks copied undecoded from a `.mdl` source into a `.mdl` output: the same file as
// decoding and compressing again, the progress count kept, and every other source written normally.
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "core/progress.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/lz4_filter.hpp"
#include "formats/mdl/mdl_writer.hpp"
#include "mdl_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

namespace ckpt {
namespace {

using test::H5Closer;

// Weight-like bytes (random low mantissa bytes, few distinct high bytes) so chunks really compress
// a little, or a repeating pattern that compresses well.
TensorPtr make_tensor(DType dtype, std::vector<int64_t> shape, uint32_t seed, bool compressible = false)
{
    TensorInfo info{dtype, std::move(shape)};
    std::vector<std::byte> b(info.nbytes());
    std::mt19937 rng(seed);
    for (size_t i = 0; i < b.size(); ++i)
        b[i] = static_cast<std::byte>(compressible ? (i % 89 < 40 ? 0 : i % 5 + seed) : (i % 4 == 3 ? 0x3c : rng()));
    return std::make_shared<MemoryTensor>(info, std::move(b));
}

// Counts what a writer takes from the wrapped tensor: bytes read, and bytes copied in stored form.
// `passthrough` decides whether the writer may see through it.
class Observed final : public TensorData {
public:
    Observed(TensorPtr inner, bool passthrough) : m_inner(std::move(inner)), m_passthrough(passthrough) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        m_read += size;
        m_inner->read(offset, dst, size);
    }
    const TensorData* passthrough_of() const override { return m_passthrough ? m_inner.get() : nullptr; }
    void note_bytes_copied(uint64_t size) const override { m_copied += size; }
    uint64_t bytes_read() const { return m_read; }
    uint64_t bytes_copied() const { return m_copied; }

private:
    TensorPtr m_inner;
    bool m_passthrough;
    mutable uint64_t m_read = 0, m_copied = 0;
};

std::vector<std::pair<std::string, TensorPtr>> source_tensors()
{
    return {
        {"wte", make_tensor(DType::f32, {515, 771}, 1)},     // many chunks, edge chunks both ways
        {"packed", make_tensor(DType::f32, {512, 768}, 2, true)},
        {"bf16", make_tensor(DType::bf16, {129, 67, 3}, 3)}, // stored as I16LE
        {"bias", make_tensor(DType::f32, {3001}, 4)},
        {"small", make_tensor(DType::f16, {3, 5}, 5)},
        {"scalar", make_tensor(DType::f32, {}, 6)},          // contiguous: never passed through
        {"empty", make_tensor(DType::f32, {0, 4}, 7)},
    };
}

Node tree_of(const std::vector<std::pair<std::string, TensorPtr>>& tensors)
{
    Node root = test::model_tree(tensors);
    root.set("step", Node(int64_t{3}));
    return root;
}

std::string file_bytes(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The tensors of a written `.mdl`, each wrapped in an Observed.
std::vector<std::pair<std::string, std::shared_ptr<Observed>>> observed(const Checkpoint& cp, bool passthrough)
{
    std::vector<std::pair<std::string, std::shared_ptr<Observed>>> out;
    for (const auto& [key, value] : cp.root.find("model")->entries())
        out.emplace_back(Node::key_text(key), std::make_shared<Observed>(value.as_tensor(), passthrough));
    return out;
}

Node tree_of(const std::vector<std::pair<std::string, std::shared_ptr<Observed>>>& tensors)
{
    std::vector<std::pair<std::string, TensorPtr>> plain(tensors.begin(), tensors.end());
    return tree_of(plain);
}

TEST(MdlPassthrough, FileIsByteIdenticalToDecodingAndCompressingAgain)
{
    test::TempDir dir;
    for (int layout : {4, 5}) {
        MdlWriteOptions o;
        o.layout = layout;
        write_mdl(dir / "src.mdl", tree_of(source_tensors()), o);
        const Checkpoint cp = read_mdl(dir / "src.mdl");
        const auto through = observed(cp, true);
        const auto normal = observed(cp, false);
        write_mdl(dir / "through.mdl", tree_of(through), o);
        write_mdl(dir / "normal.mdl", tree_of(normal), o);
        const std::string want = file_bytes(dir / "normal.mdl");
        ASSERT_GT(want.size(), 1000000u);
        EXPECT_TRUE(want == file_bytes(dir / "through.mdl")) << "layout " << layout;
        // The comparison means something only if chunks really were copied, and only those.
        for (size_t i = 0; i < through.size(); ++i) {
            const auto& [name, t] = through[i];
            const uint64_t n = t->info().nbytes();
            const bool chunked = !t->info().shape.empty() && n > 0;
            EXPECT_EQ(t->bytes_copied(), chunked ? n : 0) << name;
            EXPECT_EQ(t->bytes_read(), chunked ? 0 : n) << name;
            EXPECT_EQ(normal[i].second->bytes_copied(), 0u) << name;
        }
        const Checkpoint back = read_mdl(dir / "through.mdl");
        const Node src = tree_of(source_tensors());
        test::expect_same_tree(*back.root.find("model"), *src.find("model"));
    }
}

TEST(MdlPassthrough, ProgressCountsCopiedChunks)
{
    test::TempDir dir;
    write_mdl(dir / "src.mdl", tree_of(source_tensors()));
    const Checkpoint cp = read_mdl(dir / "src.mdl");
    std::vector<NamedTensor> named;
    uint64_t total = 0;
    for (const auto& [key, value] : cp.root.find("model")->entries()) {
        named.push_back({Node::key_text(key), value.as_tensor()});
        total += value.as_tensor()->info().nbytes();
    }
    ProgressBar bar("test", total, false);
    const std::vector<NamedTensor> counted = with_progress(named, bar);
    Node model = Node::map();
    for (const auto& t : counted)
        model.set(t.name, t.tensor);
    Node root = Node::map();
    root.set("model", model);
    write_mdl(dir / "out.mdl", root);
    EXPECT_EQ(bar.done(), total);
    // The progress wrapper really was seen through: its source's chunks were copied.
    EXPECT_EQ(&stored_source(*counted[0].tensor), named[0].tensor.get());
}

TEST(MdlPassthrough, UncompressedSourceIsCompressedNormally)
{
    test::TempDir dir;
    MdlWriteOptions plain;
    plain.compress = false;
    write_mdl(dir / "src.mdl", tree_of(source_tensors()), plain);
    const auto through = observed(read_mdl(dir / "src.mdl"), true);
    write_mdl(dir / "out.mdl", tree_of(through));
    write_mdl(dir / "ref.mdl", tree_of(source_tensors()));
    EXPECT_TRUE(file_bytes(dir / "ref.mdl") == file_bytes(dir / "out.mdl"));
    for (const auto& [name, t] : through) {
        EXPECT_EQ(t->bytes_copied(), 0u) << name;
        EXPECT_EQ(t->bytes_read(), t->info().nbytes()) << name;
    }
}

// An LZ4 dataset of 40 × 30 F32 written with the HDF5 C API: chunk shape and chunks the writer
// would not make.
struct Foreign {
    std::filesystem::path path;
    std::vector<hsize_t> dims{40, 30};
    std::vector<hsize_t> chunk;
    unsigned block = 0; // the filter's block-size option
};

void create(const Foreign& f)
{
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    detail::h5_init();
    H5Closer file(H5Fcreate(f.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    H5Closer space(H5Screate_simple(2, f.dims.data(), nullptr));
    H5Closer dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.id, 2, f.chunk.data());
    const unsigned cd[1] = {f.block};
    H5Pset_filter(dcpl.id, detail::kLz4FilterId, H5Z_FLAG_OPTIONAL, 1, cd);
    H5Closer d(H5Dcreate2(file.id, "d", H5T_IEEE_F32LE, space.id, H5P_DEFAULT, dcpl.id, H5P_DEFAULT));
    ASSERT_GE(d.id, 0);
}

void fill(const Foreign& f, const std::vector<float>& values)
{
    std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
    H5Closer file(H5Fopen(f.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    H5Closer d(H5Dopen2(file.id, "d", H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

std::shared_ptr<Observed> open_foreign(const Foreign& f)
{
    auto t = std::make_shared<detail::H5DatasetTensor>(detail::H5File::open(f.path), "d",
                                                       TensorInfo{DType::f32, {40, 30}});
    return std::make_shared<Observed>(t, true);
}

std::vector<float> some_floats()
{
    std::vector<float> v(40 * 30);
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<float>(i) * 0.37f - 100.0f;
    return v;
}

void expect_normal_path(const Foreign& f, const std::string& why)
{
    test::TempDir dir;
    const auto t = open_foreign(f);
    write_mdl(dir / "out.mdl", tree_of({{"d", TensorPtr(t)}}));
    // Every byte accounted for: read through the wrapper, or (a source that can be read from
    // several threads) gathered beneath it on the pool and reported as copied.
    EXPECT_EQ(t->bytes_read() + t->bytes_copied(), t->info().nbytes()) << why;
    // …and written as the writer writes these values, not as copies of the foreign chunks.
    const TensorPtr plain = std::make_shared<MemoryTensor>(t->info(), read_all(*t));
    write_mdl(dir / "plain.mdl", tree_of({{"d", plain}}));
    EXPECT_TRUE(file_bytes(dir / "out.mdl") == file_bytes(dir / "plain.mdl")) << why;
    const Checkpoint back = read_mdl(dir / "out.mdl");
    EXPECT_TRUE(equal_bytes(*back.root.find("model")->find("d")->as_tensor(), *t)) << why;
}

TEST(MdlPassthrough, OtherChunkShapesBlockSizesAndUnwrittenChunksAreWrittenNormally)
{
    test::TempDir dir;
    const std::vector<hsize_t> ours = detail::guess_chunk({40, 30}, 4);
    {
        Foreign f{dir / "shape.h5", {40, 30}, {16, 16}};
        ASSERT_NE(f.chunk, ours);
        create(f);
        fill(f, some_floats());
        expect_normal_path(f, "other chunk shape");
    }
    {
        Foreign f{dir / "block.h5", {40, 30}, ours, 1024};
        create(f);
        fill(f, some_floats());
        expect_normal_path(f, "other LZ4 block size");
    }
    {
        Foreign f{dir / "unwritten.h5", {40, 30}, ours};
        create(f); // no chunk stored: reads as the fill value
        expect_normal_path(f, "unwritten chunks");
    }
    {
        // The control: stored as the writer would store it, so it is copied.
        Foreign f{dir / "same.h5", {40, 30}, ours};
        create(f);
        fill(f, some_floats());
        const auto t = open_foreign(f);
        write_mdl(dir / "out.mdl", tree_of({{"d", TensorPtr(t)}}));
        EXPECT_EQ(t->bytes_copied(), t->info().nbytes());
        EXPECT_EQ(t->bytes_read(), 0u);
        const Checkpoint back = read_mdl(dir / "out.mdl");
        EXPECT_TRUE(equal_bytes(*back.root.find("model")->find("d")->as_tensor(), *t));
    }
}

TEST(MdlPassthrough, MalformedChunkIsInputErrorNamingSourceFileAndDataset)
{
    test::TempDir dir;
    const std::vector<hsize_t> ours = detail::guess_chunk({40, 30}, 4);
    Foreign f{dir / "bad.h5", {40, 30}, ours};
    create(f);
    fill(f, some_floats());
    {
        // A chunk whose header claims another size (as if it came from another dataset).
        std::lock_guard<std::recursive_mutex> lock(detail::h5_mutex());
        H5Closer file(H5Fopen(f.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        H5Closer d(H5Dopen2(file.id, "d", H5P_DEFAULT));
        const std::vector<hsize_t> origin(2, 0);
        hsize_t size = 0;
        ASSERT_GE(H5Dget_chunk_storage_size(d.id, origin.data(), &size), 0);
        std::vector<unsigned char> chunk(size);
        uint32_t mask = 0;
        ASSERT_GE(H5Dread_chunk(d.id, H5P_DEFAULT, origin.data(), &mask, chunk.data()), 0);
        chunk[7] ^= 0x04;
        ASSERT_GE(H5Dwrite_chunk(d.id, H5P_DEFAULT, mask, origin.data(), chunk.size(), chunk.data()), 0);
    }
    const auto t = open_foreign(f);
    try {
        write_mdl(dir / "out.mdl", tree_of({{"d", TensorPtr(t)}}));
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(f.path.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("'d'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("malformed"), std::string::npos) << msg;
    }
}

} // namespace
} // namespace ckpt
