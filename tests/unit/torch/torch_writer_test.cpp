// SPDX-License-Identifier: Apache-2.0
// Writing torch.save files: round trips for every dtype and shape, ties, and byte identity.
#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/torch/torch_reader.hpp"
#include "formats/torch/torch_writer.hpp"
#include "formats/torch/zip_reader.hpp"
#include "test_support.hpp"
#include "torch_test_views.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace ckpt {
namespace {

TensorPtr random_tensor(DType dt, std::vector<int64_t> shape, uint32_t seed)
{
    TensorInfo info{dt, std::move(shape)};
    std::vector<std::byte> b(info.nbytes());
    std::mt19937 rng(seed);
    for (auto& x : b)
        x = static_cast<std::byte>(rng() & 0xff);
    if (dt == DType::boolean)
        for (auto& x : b)
            x = static_cast<std::byte>(static_cast<unsigned>(x) & 1);
    return std::make_shared<MemoryTensor>(info, std::move(b));
}

TEST(TorchWriter, RoundTripsEveryDtypeAndShape)
{
    test::TempDir dir;
    Node root = Node::map();
    size_t n = 0;
    const DType* all = all_dtypes(&n);
    uint32_t seed = 1;
    for (size_t i = 0; i < n; ++i) {
        const std::string name(dtype_name(all[i]));
        root.set(name + ".matrix", Node(random_tensor(all[i], {3, 5}, seed++)));
        root.set(name + ".scalar", Node(random_tensor(all[i], {}, seed++)));
        root.set(name + ".empty", Node(random_tensor(all[i], {0, 4}, seed++)));
    }
    root.set("rank8", Node(random_tensor(DType::f32, {2, 1, 3, 1, 2, 2, 1, 2}, seed++)));
    const auto path = dir / "every_dtype.bin";
    write_torch(path, root);
    const Checkpoint back = read_torch(path);
    ASSERT_EQ(back.root.size(), root.size());
    for (size_t i = 0; i < root.size(); ++i) {
        const auto& [k, v] = root.entries()[i];
        const auto& [bk, bv] = back.root.entries()[i];
        EXPECT_EQ(k, bk);
        ASSERT_TRUE(bv.is_tensor()) << k.as_string();
        EXPECT_EQ(bv.as_tensor()->info(), v.as_tensor()->info()) << k.as_string();
        EXPECT_TRUE(equal_bytes(*bv.as_tensor(), *v.as_tensor())) << k.as_string();
    }
    // Records are 64-byte aligned and their CRCs are right.
    const auto file = MappedFile::open(path);
    const auto zdir = parse_zip_directory(file->data(), file->size(), "x");
    EXPECT_EQ(zdir.archive_name, "every_dtype");
    for (const auto& e : zdir.entries) {
        EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
        const auto b = zip_entry_bytes(e, file->data(), file->size(), "x");
        EXPECT_EQ(crc32_update(0, b.data(), b.size()), e.crc32) << e.name;
    }
}

TEST(TorchWriter, TiesStayTiedBothWays)
{
    const TensorPtr w = random_tensor(DType::bf16, {4, 2}, 7);
    Node root = Node::map();
    root.set("embed.weight", Node(w));
    root.set("other", Node(random_tensor(DType::f16, {3}, 8)));
    root.set("lm_head.weight", Node(w));
    for (bool memo : {false, true}) {
        test::TempDir dir;
        const auto path = dir / "tied.bin";
        TorchWriteOptions o;
        o.memoize_ties = memo;
        write_torch(path, root, o);
        const Checkpoint back = read_torch(path);
        EXPECT_EQ(back.root.find("embed.weight")->as_tensor().get(), back.root.find("lm_head.weight")->as_tensor().get());
        const auto file = MappedFile::open(path);
        EXPECT_EQ(parse_zip_directory(file->data(), file->size(), "x").entries.size(), 4u); // pkl, 2 storages, version
    }
}

TEST(TorchWriter, Gpt2RewriteIsByteIdentical)
{
    const auto src = test::data_path("hf/gpt2/bin/pytorch_model.bin");
    const Checkpoint ck = read_torch(src);
    test::TempDir dir;
    const auto out = dir / "pytorch_model.bin";
    write_torch(out, ck.root);
    EXPECT_TRUE(test::read_file(out) == test::read_file(src));
    // And deterministic across runs.
    const auto again = dir / "again.bin";
    TorchWriteOptions o;
    o.archive_name = "pytorch_model";
    write_torch(again, ck.root, o);
    EXPECT_TRUE(test::read_file(again) == test::read_file(out));
}

TEST(TorchWriter, HfFixturesRewriteIdentically)
{
    for (const char* model : {"bert", "bloom", "codegen", "falcon", "gpt_neox", "gptj", "llama", "mistral", "mpt",
                              "roberta", "t5"}) {
        SCOPED_TRACE(model);
        const auto src = test::data_path(std::string("hf/") + model + "/bin/pytorch_model.bin");
        test::TempDir dir;
        const auto out = dir / "pytorch_model.bin";
        write_torch(out, read_torch(src).root);
        EXPECT_TRUE(test::read_file(out) == test::read_file(src));
    }
}

TEST(TorchWriter, StridedSourcesAreWrittenContiguous)
{
    test::TempDir dir;
    const Checkpoint views = read_torch(write_views(dir, 12, {{"t", 1, {4, 2}, {1, 4}}}));
    const TensorPtr& t = views.root.find("t")->as_tensor();
    EXPECT_EQ(t->data(), nullptr); // really a gathered view
    Node root = Node::map();
    root.set("a", Node(t));
    const auto path = dir / "a.bin";
    write_torch(path, root);
    const TensorPtr back = read_torch(path).root.find("a")->as_tensor();
    EXPECT_NE(back->data(), nullptr);
    EXPECT_TRUE(equal_bytes(*back, *t));
    const auto b = read_all(*back);
    std::vector<float> f(8);
    std::memcpy(f.data(), b.data(), 32);
    EXPECT_EQ(f, (std::vector<float>{1, 5, 2, 6, 3, 7, 4, 8}));
}

TEST(TorchWriter, NonTensorLeavesRoundTrip)
{
    Node root = Node::map();
    Node model = Node::map();
    model.set("w", Node(random_tensor(DType::f32, {2, 2}, 3)));
    root.set("model", model);
    Node opt = Node::map();
    Node state = Node::map();
    Node slot = Node::map();
    slot.set("step", Node(10));
    slot.set("exp_avg", Node(random_tensor(DType::f32, {2, 2}, 4)));
    state.append(Node(0), slot);
    opt.set("state", state);
    Node groups = Node::list();
    Node g = Node::map();
    g.set("lr", Node(1e-4));
    Node betas = Node::tuple();
    betas.push_back(Node(0.9));
    betas.push_back(Node(0.999));
    g.set("betas", betas);
    g.set("name", Node("decay"));
    g.set("none", Node());
    g.set("flag", Node(true));
    g.set("raw", Node::bytes(std::string("\x00\x80\xff", 3)));
    groups.push_back(g);
    opt.set("param_groups", groups);
    root.set("optimizer", opt);
    root.set("global_step", Node(int64_t{1} << 40));
    Opaque ns;
    ns.type = "argparse.Namespace";
    ns.args = std::make_shared<Node>(Node::tuple());
    ns.state = std::make_shared<Node>(Node::map());
    ns.state->set("seed", Node(1));
    root.set("args", Node(ns));

    test::TempDir dir;
    const auto path = dir / "ckpt.mdl";
    TorchWriteOptions o;
    o.ordered_dict = [](const Node&, size_t depth) { return depth == 0; };
    write_torch(path, root, o);
    const Checkpoint back = read_torch(path);
    const Node& b = back.root;
    EXPECT_EQ(*b.find("optimizer")->find("param_groups"), groups);
    EXPECT_EQ(b.find("global_step")->as_int(), int64_t{1} << 40);
    EXPECT_EQ(b.find("optimizer")->find("state")->entries()[0].first.as_int(), 0);
    EXPECT_EQ(b.find("args")->as_opaque().type, "argparse.Namespace");
    EXPECT_EQ(*b.find("args")->as_opaque().state, *ns.state);
    EXPECT_TRUE(equal_bytes(*b.find("model")->find("w")->as_tensor(), *model.find("w")->as_tensor()));
}

TEST(TorchWriter, UnwritableOutputIsAnInputError)
{
    Node root = Node::map();
    EXPECT_THROW(write_torch("/nonexistent-dir/x.bin", root), InputError);
}

// Hides data() (bytes computed on demand) and says whether reads may run on two threads.
class Computed final : public TensorData {
public:
    Computed(TensorPtr inner, bool concurrent) : m_inner(std::move(inner)), m_concurrent(concurrent) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override { m_inner->read(offset, dst, size); }
    bool concurrent_reads() const override { return m_concurrent; }

private:
    TensorPtr m_inner;
    bool m_concurrent;
};

TEST(TorchWriter, LargeTensorsFromEveryKindOfSourceCarryTheirCrc)
{
    // Tensors larger than a piece (8 MiB), written from memory (checksummed beside the kernel's
    // copy), computed on two threads (checksummed in halves and combined) and computed on one,
    // between small records that share pieces: every record's CRC must match its bytes.
    const TensorPtr big = random_tensor(DType::f32, {3, 1000, 1001}, 21); // 12 MiB, odd size
    const TensorPtr odd = random_tensor(DType::bf16, {4097, 1027}, 22);
    Node root = Node::map();
    root.set("a.small", Node(random_tensor(DType::f16, {7}, 23)));
    root.set("b.memory", Node(big));
    root.set("c.halves", Node(std::make_shared<Computed>(odd, true)));
    root.set("d.small", Node(random_tensor(DType::i64, {3}, 24)));
    root.set("e.serial", Node(std::make_shared<Computed>(big, false)));
    root.set("f.halves", Node(std::make_shared<Computed>(big, true)));
    test::TempDir dir;
    const auto path = dir / "big.bin";
    write_torch(path, root);
    const auto file = MappedFile::open(path);
    const auto zdir = parse_zip_directory(file->data(), file->size(), "x");
    size_t large = 0;
    for (const auto& e : zdir.entries) {
        const auto b = zip_entry_bytes(e, file->data(), file->size(), "x");
        EXPECT_EQ(crc32_update(0, b.data(), b.size()), e.crc32) << e.name;
        large += b.size() > (8u << 20);
    }
    EXPECT_EQ(large, 4u);
    const Checkpoint back = read_torch(path);
    for (const char* k : {"a.small", "b.memory", "c.halves", "d.small", "e.serial", "f.halves"})
        EXPECT_TRUE(equal_bytes(*back.root.find(k)->as_tensor(), *root.find(k)->as_tensor())) << k;
}

} // namespace
} // namespace ckpt
