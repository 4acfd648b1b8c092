// SPDX-License-Identifier: Apache-2.0
// Reading real safetensors fixtures: every family, single and sharded, and the format sniff.
#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "st_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace fs = std::filesystem;
using namespace ckpt;
using ckpt::test::data_path;

namespace {

std::vector<fs::path> fixture_files()
{
    std::vector<fs::path> out;
    for (const auto& family : fs::directory_iterator(data_path("hf"))) {
        const fs::path p = family.path() / "safetensors" / "model.safetensors";
        if (fs::exists(p))
            out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
}

uint64_t header_length(const std::string& bytes)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    return n;
}

} // namespace

TEST(SafetensorsReader, ReadsEveryFixture)
{
    const auto files = fixture_files();
    ASSERT_GE(files.size(), 12u);
    for (const auto& p : files) {
        SCOPED_TRACE(p.string());
        const std::string bytes = test::read_file(p);
        const uint64_t data_start = 8 + header_length(bytes);
        Checkpoint ck = read_safetensors(p);
        EXPECT_EQ(ck.format, "safetensors");
        ASSERT_EQ(ck.files.size(), 1u);
        EXPECT_EQ(ck.files[0], p);
        ASSERT_TRUE(ck.root.is_map());
        ASSERT_GT(ck.root.size(), 0u);
        ASSERT_EQ(ck.metadata.size(), 1u);
        EXPECT_EQ(ck.metadata[0].first, "format");
        EXPECT_EQ(ck.metadata[0].second, "pt");
        // Zero-copy: every tensor points into the mapping and together they tile the data section.
        uint64_t total = 0;
        for (const auto& [k, v] : ck.root.entries()) {
            const TensorPtr& t = v.as_tensor();
            ASSERT_NE(t->data(), nullptr);
            const uint64_t n = t->info().nbytes();
            total += n;
            const auto copy = read_all(*t);
            ASSERT_EQ(copy.size(), n);
            EXPECT_TRUE(n == 0 || std::memcmp(copy.data(), t->data(), n) == 0);
        }
        EXPECT_EQ(data_start + total, bytes.size());
    }
}

TEST(SafetensorsReader, TensorsOutliveTheCheckpoint)
{
    const fs::path p = data_path("hf/gpt2/safetensors/model.safetensors");
    TensorPtr t;
    std::vector<std::byte> expected;
    {
        Checkpoint ck = read_safetensors(p);
        const Node* wte = ck.root.find("transformer.wte.weight");
        ASSERT_NE(wte, nullptr);
        t = wte->as_tensor();
        expected = read_all(*t);
    }
    EXPECT_EQ(describe(t->info()), "F32[128, 64]");
    EXPECT_EQ(read_all(*t), expected); // the mapping is still alive through the tensor
}

TEST(SafetensorsReader, RewriteInLibraryOrderIsByteIdentical)
{
    // The fixtures were written by the reference library: re-writing their tensors in its order
    // with the same metadata must reproduce every byte, header spelling and padding included.
    for (const auto& p : fixture_files()) {
        SCOPED_TRACE(p.string());
        Checkpoint ck = read_safetensors(p);
        test::TempDir tmp;
        const fs::path out = tmp / "model.safetensors";
        write_safetensors(out, safetensors_library_order(test::named_tensors(ck)), ck.metadata);
        EXPECT_TRUE(test::read_file(out) == test::read_file(p));
    }
}

TEST(SafetensorsReader, HeaderOrderIsKept)
{
    test::TempDir tmp;
    const fs::path p = tmp / "order.safetensors";
    std::vector<NamedTensor> in = {{"zeta", test::make_tensor(DType::f32, {2}, 1)},
                                   {"alpha", test::make_tensor(DType::u8, {3}, 2)},
                                   {"mid", test::make_tensor(DType::bf16, {1}, 3)}};
    write_safetensors(p, in, {});
    Checkpoint ck = read_safetensors(p);
    const auto out = test::named_tensors(ck);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].name, "zeta");
    EXPECT_EQ(out[1].name, "alpha");
    EXPECT_EQ(out[2].name, "mid");
    EXPECT_TRUE(ck.metadata.empty());
}

TEST(SafetensorsReader, ShardedEqualsSingleFile)
{
    for (const std::string family : {"gpt2", "llama"}) {
        SCOPED_TRACE(family);
        Checkpoint single = read_safetensors(data_path("hf/" + family + "/safetensors/model.safetensors"));
        const fs::path index = data_path("hf/" + family + "/sharded-safetensors/model.safetensors.index.json");
        Checkpoint sharded = read_hf_index(index, read_safetensors);
        EXPECT_EQ(sharded.format, "safetensors-sharded");
        ASSERT_EQ(sharded.files.size(), 4u);
        EXPECT_EQ(sharded.files[0], index);
        EXPECT_EQ(sharded.files[1].filename(), "model-00001-of-00003.safetensors");
        EXPECT_EQ(sharded.files[3].filename(), "model-00003-of-00003.safetensors");
        EXPECT_EQ(sharded.shard_of.size(), sharded.root.size());
        ASSERT_EQ(sharded.root.size(), single.root.size());
        std::set<std::string> shards_used;
        for (const auto& [k, v] : single.root.entries()) {
            const std::string name = Node::key_text(k);
            SCOPED_TRACE(name);
            const Node* other = sharded.root.find(name);
            ASSERT_NE(other, nullptr);
            EXPECT_TRUE(equal_bytes(*v.as_tensor(), *other->as_tensor()));
            ASSERT_EQ(sharded.shard_of.count(name), 1u);
            shards_used.insert(sharded.shard_of.at(name));
        }
        EXPECT_EQ(shards_used.size(), 3u);
        // Root order follows the index's weight_map.
        const std::string text = test::read_file(index);
        size_t last = 0;
        for (const auto& [k, v] : sharded.root.entries()) {
            const size_t at = text.find("\"" + Node::key_text(k) + "\"");
            ASSERT_NE(at, std::string::npos);
            EXPECT_GT(at, last);
            last = at;
        }
    }
}

TEST(SafetensorsReader, Sniff)
{
    for (const auto& p : fixture_files()) {
        const std::string head = read_head(p, 64);
        EXPECT_TRUE(is_safetensors(head, fs::file_size(p))) << p;
        // The real file size matters: a header longer than the file is not safetensors.
        EXPECT_FALSE(is_safetensors(head, 8 + header_length(head) - 1)) << p;
    }
    const fs::path bin = data_path("hf/gpt2/bin/pytorch_model.bin");
    EXPECT_FALSE(is_safetensors(read_head(bin, 64), fs::file_size(bin)));
    const fs::path json = data_path("hf/gpt2/safetensors/config.json");
    EXPECT_FALSE(is_safetensors(read_head(json, 64), fs::file_size(json)));
    EXPECT_FALSE(is_safetensors("", 0));
    EXPECT_FALSE(is_safetensors(std::string("\x02\0\0\0\0\0\0\0[]", 10), 10));
    EXPECT_TRUE(is_safetensors(std::string("\x02\0\0\0\0\0\0\0{}", 10), 10));
    EXPECT_TRUE(is_safetensors(std::string("\x03\0\0\0\0\0\0\0 {}", 11), 11));
}

TEST(SafetensorsReader, AcceptsEmptyAndLeadingWhitespace)
{
    test::TempDir tmp;
    // Only "{}" (no tensors, no data), and a header with leading and trailing whitespace.
    test::write_file(tmp / "empty.safetensors", std::string("\x02\0\0\0\0\0\0\0{}", 10));
    Checkpoint a = read_safetensors(tmp / "empty.safetensors");
    EXPECT_EQ(a.root.size(), 0u);
    const std::string h = "  {\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}  ";
    std::string bytes(8, '\0');
    bytes[0] = static_cast<char>(h.size());
    bytes += h + "ab";
    test::write_file(tmp / "ws.safetensors", bytes);
    Checkpoint b = read_safetensors(tmp / "ws.safetensors");
    ASSERT_EQ(b.root.size(), 1u);
    const auto v = read_all(*b.root.find("x")->as_tensor());
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(static_cast<char>(v[0]), 'a');
    EXPECT_EQ(static_cast<char>(v[1]), 'b');
}

TEST(SafetensorsReader, MissingFileNamesIt)
{
    try {
        read_safetensors("/nonexistent/dir/model.safetensors");
        FAIL() << "no exception";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.safetensors"), std::string::npos);
    }
}

TEST(SafetensorsReader, IgnoresUnknownFieldsInATensor)
{
    // The reference reader ignores fields it does not know; so do we, whatever their shape.
    test::TempDir tmp;
    const std::string h = R"({"x":{"note":{"a":[1,[2,{"b":null}]]},"dtype":"U8","extra":7,"shape":[2],)"
                          R"("data_offsets":[0,2],"more":[[]]},"__metadata__":{"format":"pt"}})";
    std::string bytes(8, '\0');
    bytes[0] = static_cast<char>(h.size());
    bytes += h + "xy";
    test::write_file(tmp / "extra.safetensors", bytes);
    Checkpoint ck = read_safetensors(tmp / "extra.safetensors");
    ASSERT_EQ(ck.root.size(), 1u);
    EXPECT_EQ(describe(ck.root.find("x")->as_tensor()->info()), "U8[2]");
    ASSERT_EQ(ck.metadata.size(), 1u);
    EXPECT_EQ(ck.metadata[0].first, "format");
}
