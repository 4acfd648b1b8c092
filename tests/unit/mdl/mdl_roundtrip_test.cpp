// SPDX-License-Identifier: Apache-2.0
// Writing `.mdl` files: what ckptconv writes reads back identically, and has the structure of the
// Model Zoo's references (dataset names, HDF5 types, attributes, chunking, filter, spec).
#include "formats/mdl/mdl.hpp"

#include "core/error.hpp"
#include "formats/mdl/h5_tensor.hpp"
#include "formats/mdl/mdl_writer.hpp"
#include "mdl_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace ckpt {
namespace {

using test::data_path;
using test::H5Closer;

TensorPtr make_tensor(DType dtype, std::vector<int64_t> shape, uint32_t seed = 1)
{
    TensorInfo info{dtype, std::move(shape)};
    std::vector<std::byte> b(info.nbytes());
    uint32_t x = seed * 2654435761u + 1;
    for (auto& v : b) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<std::byte>(x >> 24);
    }
    if (dtype == DType::boolean)
        for (auto& v : b)
            v = static_cast<std::byte>(static_cast<unsigned>(v) & 1);
    return std::make_shared<MemoryTensor>(info, std::move(b));
}

// A checkpoint with every kind of leaf and container a CS training checkpoint holds.
Node sample_tree()
{
    Node model = Node::map();
    model.set("w.f32", make_tensor(DType::f32, {5, 7}, 1));
    model.set("w.bf16", make_tensor(DType::bf16, {3, 4, 5}, 2));
    model.set("w.f16", make_tensor(DType::f16, {9}, 3));
    model.set("w.f64", make_tensor(DType::f64, {2, 2}, 4));
    model.set("i64", make_tensor(DType::i64, {3}, 5));
    model.set("i32", make_tensor(DType::i32, {3}, 6));
    model.set("i16", make_tensor(DType::i16, {3}, 7));
    model.set("i8", make_tensor(DType::i8, {3}, 8));
    model.set("u8", make_tensor(DType::u8, {4}, 9));
    model.set("mask", make_tensor(DType::boolean, {2, 3}, 10));
    model.set("c64", make_tensor(DType::c64, {2}, 11));
    model.set("scalar_tensor", make_tensor(DType::f32, {}, 12));
    model.set("empty", make_tensor(DType::f32, {0, 4}, 13));
    model.set("with/slash and space", make_tensor(DType::f32, {2}, 14));
    Node state = Node::map();
    for (int i = 0; i < 3; ++i) {
        Node s = Node::map();
        s.set("step", make_tensor(DType::f32, {}, 20 + i));
        s.set("exp_avg", make_tensor(DType::f32, {5, 7}, 30 + i));
        state.append(Node(int64_t{i}), s);
    }
    Node group = Node::map();
    group.set("lr", 1e-4);
    Node betas = Node::tuple();
    betas.push_back(0.9);
    betas.push_back(0.999);
    group.set("betas", betas);
    group.set("amsgrad", false);
    Node params = Node::list();
    for (int i = 0; i < 3; ++i)
        params.push_back(Node(int64_t{i}));
    group.set("params", params);
    group.set("foreach", Node());
    Node groups = Node::list();
    groups.push_back(group);
    Node opt = Node::map();
    opt.set("state", state);
    opt.set("param_groups", groups);
    Node md_entry = Node::map();
    md_entry.set("version", "2.3.0");
    md_entry.set("model_name", "GPT2LMHeadModel");
    md_entry.set("empty_list", Node::list());
    md_entry.set("empty_dict", Node::map());
    Node md = Node::list();
    md.push_back(md_entry);
    Node root = Node::map();
    root.set("model", model);
    root.set("optimizer", opt);
    root.set("global_step", int64_t{10});
    root.set("note", "héllo \"quoted\"");
    root.set("blob", Node::bytes(std::string("\x00\x01\xff", 3)));
    root.set("__metadata__", md);
    return root;
}

struct Variant {
    int layout;
    bool compress;
};

class MdlRoundTrip : public ::testing::TestWithParam<Variant> {};

TEST_P(MdlRoundTrip, SampleTreeReadsBackIdentically)
{
    test::TempDir dir;
    const Node root = sample_tree();
    MdlWriteOptions o;
    o.layout = GetParam().layout;
    o.compress = GetParam().compress;
    write_mdl(dir / "x.mdl", root, o);
    const Checkpoint back = read_mdl(dir / "x.mdl");
    EXPECT_EQ(back.format, o.layout == 4 ? "mdl-h5-0.4" : "mdl-h5-2.5");
    test::expect_same_tree(root, back.root);
    // A second write of what was read gives a file that reads back the same again.
    write_mdl(dir / "y.mdl", back.root, o);
    test::expect_same_tree(back.root, read_mdl(dir / "y.mdl").root);
}

TEST_P(MdlRoundTrip, ReferenceCheckpointsReadBackIdentically)
{
    for (const char* rel : {"cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl",
                            "cs-ref/gpt2/hf_to_cs_bf16/pytorch_model_to_cs-2.3.mdl"}) {
        SCOPED_TRACE(rel);
        test::TempDir dir;
        const Checkpoint ref = read_mdl(data_path(rel));
        MdlWriteOptions o;
        o.layout = GetParam().layout;
        o.compress = GetParam().compress;
        write_mdl(dir / "x.mdl", ref.root, o);
        test::expect_same_tree(ref.root, read_mdl(dir / "x.mdl").root);
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, MdlRoundTrip,
                         ::testing::Values(Variant{4, false}, Variant{4, true}, Variant{5, false}, Variant{5, true}),
                         [](const auto& param_info) {
                             return std::string(param_info.param.layout == 4 ? "Layout04" : "Layout25") +
                                    (param_info.param.compress ? "Lz4" : "Plain");
                         });

// ---- structure against the references, with the HDF5 C API ----

std::string attr_string(hid_t obj, const char* name)
{
    H5Closer a(H5Aopen(obj, name, H5P_DEFAULT));
    H5Closer t(H5Aget_type(a.id));
    if (H5Tget_class(t.id) != H5T_STRING)
        return "<not a string>";
    char* s = nullptr;
    H5Aread(a.id, t.id, &s);
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
}

void expect_same_attributes(hid_t a, hid_t b, const std::string& where)
{
    H5O_info_t ia{}, ib{};
    H5Oget_info2(a, &ia, H5O_INFO_NUM_ATTRS);
    H5Oget_info2(b, &ib, H5O_INFO_NUM_ATTRS);
    ASSERT_EQ(ia.num_attrs, ib.num_attrs) << where;
    for (hsize_t i = 0; i < ia.num_attrs; ++i) {
        char name[256] = {};
        H5Aget_name_by_idx(a, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        ASSERT_GT(H5Aexists(b, name), 0) << where << " lacks attribute " << name;
        H5Closer aa(H5Aopen(a, name, H5P_DEFAULT)), ab(H5Aopen(b, name, H5P_DEFAULT));
        H5Closer ta(H5Aget_type(aa.id)), tb(H5Aget_type(ab.id));
        // Same HDF5 type: string kind (vlen), padding, charset, size; enum members; float layout.
        EXPECT_GT(H5Tequal(ta.id, tb.id), 0) << where << " attribute " << name;
        H5Closer sa(H5Aget_space(aa.id)), sb(H5Aget_space(ab.id));
        EXPECT_EQ(H5Sget_simple_extent_type(sa.id), H5Sget_simple_extent_type(sb.id)) << where << " " << name;
        if (std::string(name) != "__spec__" && H5Tget_class(ta.id) == H5T_STRING) {
            EXPECT_EQ(attr_string(a, name), attr_string(b, name)) << where << " " << name;
        }
        if (H5Tget_class(ta.id) != H5T_STRING) {
            unsigned char va[16] = {}, vb[16] = {};
            ASSERT_LE(H5Tget_size(ta.id), sizeof va);
            H5Aread(aa.id, ta.id, va);
            H5Aread(ab.id, tb.id, vb);
            EXPECT_EQ(0, std::memcmp(va, vb, H5Tget_size(ta.id))) << where << " " << name;
        }
    }
}

void expect_same_structure(const std::filesystem::path& ref, const std::filesystem::path& ours)
{
    const auto ref_names = test::h5_root_names(ref);
    ASSERT_EQ(ref_names, test::h5_root_names(ours));
    H5Closer fa(H5Fopen(ref.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)), fb(H5Fopen(ours.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    ASSERT_GE(fa.id, 0);
    ASSERT_GE(fb.id, 0);
    expect_same_attributes(fa.id, fb.id, "root");
    for (const auto& name : ref_names) {
        SCOPED_TRACE(name);
        H5Closer da(H5Dopen2(fa.id, name.c_str(), H5P_DEFAULT)), db(H5Dopen2(fb.id, name.c_str(), H5P_DEFAULT));
        ASSERT_GE(db.id, 0);
        H5Closer ta(H5Dget_type(da.id)), tb(H5Dget_type(db.id));
        EXPECT_GT(H5Tequal(ta.id, tb.id), 0) << "dataset type";
        H5Closer sa(H5Dget_space(da.id)), sb(H5Dget_space(db.id));
        EXPECT_EQ(H5Sget_simple_extent_type(sa.id), H5Sget_simple_extent_type(sb.id));
        EXPECT_GT(H5Sextent_equal(sa.id, sb.id), 0) << "shape";
        H5Closer pa(H5Dget_create_plist(da.id)), pb(H5Dget_create_plist(db.id));
        const H5D_layout_t la = H5Pget_layout(pa.id);
        EXPECT_EQ(la, H5Pget_layout(pb.id)) << "layout";
        if (la == H5D_CHUNKED && H5Pget_layout(pb.id) == H5D_CHUNKED) {
            hsize_t ca[8] = {}, cb[8] = {};
            const int ra = H5Pget_chunk(pa.id, 8, ca);
            ASSERT_EQ(ra, H5Pget_chunk(pb.id, 8, cb));
            for (int k = 0; k < ra; ++k)
                EXPECT_EQ(ca[k], cb[k]) << "chunk dim " << k;
            ASSERT_EQ(H5Pget_nfilters(pa.id), H5Pget_nfilters(pb.id));
            for (int k = 0; k < H5Pget_nfilters(pa.id); ++k) {
                unsigned fla = 0, flb = 0, cda[4] = {}, cdb[4] = {};
                size_t na = 4, nb = 4;
                char nma[128] = {}, nmb[128] = {};
                const H5Z_filter_t ida = H5Pget_filter2(pa.id, k, &fla, &na, cda, sizeof nma, nma, nullptr);
                const H5Z_filter_t idb = H5Pget_filter2(pb.id, k, &flb, &nb, cdb, sizeof nmb, nmb, nullptr);
                EXPECT_EQ(ida, idb);
                EXPECT_EQ(fla, flb);
                EXPECT_EQ(na, nb);
                EXPECT_EQ(0, std::memcmp(cda, cdb, sizeof cda));
                EXPECT_STREQ(nma, nmb);
            }
            H5D_fill_time_t fta{}, ftb{};
            H5Pget_fill_time(pa.id, &fta);
            H5Pget_fill_time(pb.id, &ftb);
            EXPECT_EQ(fta, ftb);
        }
        expect_same_attributes(da.id, db.id, name);
    }
}

std::string spec_attr(const std::filesystem::path& p)
{
    H5Closer f(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    return attr_string(f.id, "__spec__");
}

TEST(MdlWriteStructure, MatchesReferenceUncompressed)
{
    for (const char* rel : {"cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/gpt2/hf_to_cs_bf16/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/llama/hf_to_cs/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl"}) {
        SCOPED_TRACE(rel);
        test::TempDir dir;
        MdlWriteOptions o;
        o.compress = false;
        write_mdl(dir / "out.mdl", read_mdl(data_path(rel)).root, o);
        expect_same_structure(data_path(rel), dir / "out.mdl");
    }
}

TEST(MdlWriteStructure, MatchesReferenceLz4)
{
    for (const char* rel : {"cs-ref/gpt2/hf_to_cs_lz4/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/llama/hf_to_cs_lz4/pytorch_model_to_cs-2.3.mdl"}) {
        SCOPED_TRACE(rel);
        test::TempDir dir;
        write_mdl(dir / "out.mdl", read_mdl(data_path(rel)).root, MdlWriteOptions{});
        expect_same_structure(data_path(rel), dir / "out.mdl");
    }
}

TEST(MdlWriteStructure, SpecPickleIsTheReferenceBytes)
{
    // For a plain model state dict the pickled TreeSpec is byte-identical to cstorch's.
    for (const char* rel : {"cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/llama/hf_to_cs/pytorch_model_to_cs-2.3.mdl",
                            "cs-ref/t5/hf_to_cs/pytorch_model_to_cs-2.3.mdl"}) {
        SCOPED_TRACE(rel);
        test::TempDir dir;
        write_mdl(dir / "out.mdl", read_mdl(data_path(rel)).root, MdlWriteOptions{});
        EXPECT_EQ(spec_attr(data_path(rel)), spec_attr(dir / "out.mdl"));
    }
}

TEST(MdlWriteStructure, OutputIsDeterministic)
{
    test::TempDir dir;
    const Node root = read_mdl(data_path("cs-ref/gpt2/cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl")).root;
    write_mdl(dir / "a.mdl", root, MdlWriteOptions{});
    write_mdl(dir / "b.mdl", root, MdlWriteOptions{});
    EXPECT_EQ(test::read_file(dir / "a.mdl"), test::read_file(dir / "b.mdl"));
}

TEST(MdlWrite, TiedTensorsLayout04WrittenTwiceLayout25Once)
{
    test::TempDir dir;
    const TensorPtr shared = make_tensor(DType::f32, {4, 4});
    Node model = Node::map();
    model.set("embed.weight", shared);
    model.set("lm_head.weight", shared);
    Node root = Node::map();
    root.set("model", model);
    MdlWriteOptions o4;
    write_mdl(dir / "a.mdl", root, o4);
    EXPECT_EQ(test::h5_root_names(dir / "a.mdl").size(), 2u);
    MdlWriteOptions o5;
    o5.layout = 5;
    write_mdl(dir / "b.mdl", root, o5);
    EXPECT_EQ(test::h5_root_names(dir / "b.mdl").size(), 1u);
    const Checkpoint b = read_mdl(dir / "b.mdl");
    const Node& m = *b.root.find("model");
    EXPECT_EQ(m.find("embed.weight")->as_tensor(), m.find("lm_head.weight")->as_tensor()); // still tied
    EXPECT_TRUE(equal_bytes(*shared, *m.find("lm_head.weight")->as_tensor()));
}

TEST(MdlWrite, Lz4CompressesAndRoundTrips)
{
    test::TempDir dir;
    TensorInfo info{DType::f32, {512, 256}};
    std::vector<std::byte> zeros(info.nbytes());
    for (size_t i = 0; i < zeros.size(); i += 64)
        zeros[i] = std::byte{1};
    Node model = Node::map();
    model.set("w", TensorPtr(std::make_shared<MemoryTensor>(info, zeros)));
    Node root = Node::map();
    root.set("model", model);
    MdlWriteOptions plain;
    plain.compress = false;
    write_mdl(dir / "plain.mdl", root, plain);
    write_mdl(dir / "lz4.mdl", root, MdlWriteOptions{});
    EXPECT_LT(std::filesystem::file_size(dir / "lz4.mdl") * 4, std::filesystem::file_size(dir / "plain.mdl"));
    test::expect_same_tree(read_mdl(dir / "plain.mdl").root, read_mdl(dir / "lz4.mdl").root);
    test::expect_same_tree(root, read_mdl(dir / "lz4.mdl").root);
}

// Bytes computed on demand, so a tensor larger than any write piece costs no memory.
class PatternTensor final : public TensorData {
public:
    explicit PatternTensor(TensorInfo info) : m_info(std::move(info)) {}
    const TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        ASSERT_LE(offset + size, m_info.nbytes());
        for (uint64_t i = 0; i < size; ++i)
            dst[i] = static_cast<std::byte>((offset + i) % 251);
    }

private:
    TensorInfo m_info;
};

TEST(MdlWrite, RowsWiderThanTheWriteBufferAreStreamedChunkByChunk)
{
    // 80 MB rows: larger than one write piece, so the writer gathers one LZ4 chunk at a time.
    test::TempDir dir;
    const TensorPtr t = std::make_shared<PatternTensor>(TensorInfo{DType::f32, {2, 20000000}});
    Node model = Node::map();
    model.set("wide", t);
    Node root = Node::map();
    root.set("model", model);
    write_mdl(dir / "wide.mdl", root, MdlWriteOptions{});
    const Checkpoint cp = read_mdl(dir / "wide.mdl");
    EXPECT_TRUE(equal_bytes(*t, *cp.root.find("model")->find("wide")->as_tensor()));
}

TEST(MdlWrite, ChunkGuessMatchesH5py)
{
    // Values from h5py._hl.filters.guess_chunk for the same shapes and item sizes.
    EXPECT_EQ(detail::guess_chunk({128, 64}, 4), (std::vector<hsize_t>{64, 32}));
    EXPECT_EQ(detail::guess_chunk({64, 64}, 4), (std::vector<hsize_t>{32, 64}));
    EXPECT_EQ(detail::guess_chunk({64}, 4), (std::vector<hsize_t>{64}));
    EXPECT_EQ(detail::guess_chunk({50257, 768}, 4), (std::vector<hsize_t>{786, 24}));
    EXPECT_EQ(detail::guess_chunk({1 << 20}, 2), (std::vector<hsize_t>{8192}));
}

TEST(MdlRead, PartialReadsMatchWholeReads)
{
    test::TempDir dir;
    const TensorPtr t = make_tensor(DType::f32, {7, 5, 3}, 77);
    Node model = Node::map();
    model.set("w", t);
    Node root = Node::map();
    root.set("model", model);
    for (bool compress : {false, true}) {
        MdlWriteOptions o;
        o.compress = compress;
        write_mdl(dir / "p.mdl", root, o);
        const Checkpoint cp = read_mdl(dir / "p.mdl");
        const TensorPtr r = cp.root.find("model")->find("w")->as_tensor();
        EXPECT_EQ(r->data(), nullptr); // lazy: nothing read yet
        const auto whole = read_all(*t);
        for (uint64_t off : {0ull, 4ull, 13ull, 60ull, 61ull, 200ull})
            for (uint64_t len : {1ull, 3ull, 4ull, 47ull, 64ull}) {
                if (off + len > whole.size())
                    continue;
                std::vector<std::byte> got(len);
                r->read(off, got.data(), len);
                EXPECT_EQ(0, std::memcmp(got.data(), whole.data() + off, len)) << off << "+" << len;
            }
        std::byte b{};
        EXPECT_THROW(r->read(whole.size(), &b, 1), InputError);
    }
}

TEST(MdlRead, FlatRangeBoxesCoverExactlyTheRange)
{
    const std::vector<int64_t> shape{4, 3, 5};
    for (uint64_t a = 0; a < 60; a += 7)
        for (uint64_t b = a + 1; b <= 60; b += 5) {
            const auto boxes = detail::flat_range_boxes(shape, a, b);
            EXPECT_LE(boxes.size(), 5u);
            std::vector<uint64_t> covered;
            for (const auto& box : boxes)
                for (hsize_t i = 0; i < box.count[0]; ++i)
                    for (hsize_t j = 0; j < box.count[1]; ++j)
                        for (hsize_t k = 0; k < box.count[2]; ++k)
                            covered.push_back(((box.start[0] + i) * 3 + box.start[1] + j) * 5 + box.start[2] + k);
            std::vector<uint64_t> want(b - a);
            std::iota(want.begin(), want.end(), a);
            EXPECT_EQ(covered, want) << a << ".." << b;
        }
}

TEST(MdlRead, MissingKeyIsNullWithNote)
{
    test::TempDir dir;
    Node model = Node::map();
    model.set("a", make_tensor(DType::f32, {2}));
    model.set("b", make_tensor(DType::f32, {2}));
    Node root = Node::map();
    root.set("model", model);
    write_mdl(dir / "m.mdl", root, MdlWriteOptions{});
    {
        H5Closer f(H5Fopen((dir / "m.mdl").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        ASSERT_GE(H5Ldelete(f.id, "model.b", H5P_DEFAULT), 0);
    }
    const Checkpoint cp = read_mdl(dir / "m.mdl");
    EXPECT_TRUE(cp.root.find("model")->find("b")->is_null());
    EXPECT_TRUE(cp.root.find("model")->find("a")->is_tensor());
    EXPECT_FALSE(cp.notes.empty());
}

TEST(MdlRead, DeferredFullTensorIsAConstant)
{
    test::TempDir dir;
    Node model = Node::map();
    model.set("placeholder", Node());
    Node root = Node::map();
    root.set("model", model);
    write_mdl(dir / "f.mdl", root, MdlWriteOptions{});
    {
        // Rewrite the leaf as cstorch writes a DeferredFullTensor: empty dataset + attributes.
        H5Closer f(H5Fopen((dir / "f.mdl").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
        H5Ldelete(f.id, "model.placeholder", H5P_DEFAULT);
        H5Closer space(H5Screate(H5S_NULL));
        H5Closer d(H5Dcreate2(f.id, "model.placeholder", H5T_STD_I16LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        auto str_attr = [&](const char* n, const char* v) {
            H5Closer t(H5Tcopy(H5T_C_S1));
            H5Tset_size(t.id, H5T_VARIABLE);
            H5Closer s(H5Screate(H5S_SCALAR));
            H5Closer a(H5Acreate2(d.id, n, t.id, s.id, H5P_DEFAULT, H5P_DEFAULT));
            H5Awrite(a.id, t.id, &v);
        };
        str_attr("__H5_TYPE__", "DeferredFullTensor");
        const hsize_t two = 2;
        H5Closer ss(H5Screate_simple(1, &two, nullptr));
        H5Closer shape(H5Acreate2(d.id, "shape", H5T_STD_I64LE, ss.id, H5P_DEFAULT, H5P_DEFAULT));
        const int64_t dims[2] = {3, 4};
        H5Awrite(shape.id, H5T_NATIVE_INT64, dims);
        H5Closer sc(H5Screate(H5S_SCALAR));
        H5Closer fv(H5Acreate2(d.id, "fill_value", H5T_IEEE_F64LE, sc.id, H5P_DEFAULT, H5P_DEFAULT));
        const double one = 1.0;
        H5Awrite(fv.id, H5T_NATIVE_DOUBLE, &one);
        H5Closer bf(H5Acreate2(d.id, "is_bfloat16", H5T_NATIVE_INT8, sc.id, H5P_DEFAULT, H5P_DEFAULT));
        const int8_t yes = 1;
        H5Awrite(bf.id, H5T_NATIVE_INT8, &yes);
    }
    const Checkpoint cp = read_mdl(dir / "f.mdl");
    const TensorPtr t = cp.root.find("model")->find("placeholder")->as_tensor();
    EXPECT_EQ(describe(t->info()), "BF16[3, 4]");
    const auto b = read_all(*t);
    for (size_t i = 0; i < b.size(); i += 2) {
        EXPECT_EQ(static_cast<unsigned>(b[i]), 0x80u); // bf16(1.0) = 0x3f80, little-endian
        EXPECT_EQ(static_cast<unsigned>(b[i + 1]), 0x3fu);
    }
}

TEST(MdlWrite, RefusesF8AndNonMapRoots)
{
    test::TempDir dir;
    Node model = Node::map();
    model.set("w", make_tensor(DType::f8_e4m3, {2}));
    Node root = Node::map();
    root.set("model", model);
    EXPECT_THROW(write_mdl(dir / "a.mdl", root, MdlWriteOptions{}), InputError);
    EXPECT_THROW(write_mdl(dir / "b.mdl", Node::list(), MdlWriteOptions{}), InputError);
    MdlWriteOptions bad;
    bad.layout = 3;
    EXPECT_THROW(write_mdl(dir / "c.mdl", Node::map(), bad), InputError);
}

TEST(MdlDetect, Signatures)
{
    const std::string sig("\211HDF\r\n\032\n", 8);
    EXPECT_TRUE(is_hdf5(sig + "rest"));
    EXPECT_TRUE(is_hdf5(std::string(512, '\0') + sig));
    EXPECT_FALSE(is_hdf5("PK\x03\x04"));
    EXPECT_FALSE(is_hdf5(std::string(100, 'x') + sig));
    EXPECT_TRUE(is_hdf5(test::read_file(data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl")).substr(0, 64)));
}

TEST(MdlPickle, TorchPickleMdlDelegatesToTorchReader)
{
    test::TempDir dir;
    Node root = read_mdl(data_path("cs-ref/gpt2/hf_to_cs/pytorch_model_to_cs-2.3.mdl")).root;
    write_mdl_pickle(dir / "old.mdl", root);
    const Checkpoint cp = read_mdl(dir / "old.mdl");
    EXPECT_EQ(cp.format, "mdl-pickle");
    test::expect_same_tree(root, cp.root);
}

} // namespace
} // namespace ckpt
