// SPDX-License-Identifier: Apache-2.0
// Reading torch.save files: real transformers fixtures, zip layout, strided views and ties.
#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "formats/torch/pickle.hpp"
#include "formats/torch/torch_reader.hpp"
#include "formats/torch/zip_reader.hpp"
#include "test_support.hpp"
#include "torch_test_views.hpp"

#include <gtest/gtest.h>

#include <random>
#include <rapidjson/document.h>

#include <cstring>
#include <map>

namespace ckpt {
namespace {

// A minimal safetensors reader, local to the tests: the reference side of the comparisons.
std::map<std::string, std::pair<TensorInfo, std::string>> read_safetensors(const std::filesystem::path& p)
{
    const std::string raw = test::read_file(p);
    uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    rapidjson::Document doc;
    doc.Parse(raw.data() + 8, static_cast<size_t>(n));
    EXPECT_FALSE(doc.HasParseError());
    std::map<std::string, std::pair<TensorInfo, std::string>> out;
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        const std::string name = it->name.GetString();
        if (name == "__metadata__")
            continue;
        TensorInfo info;
        info.dtype = *dtype_from_name(it->value["dtype"].GetString());
        for (const auto& d : it->value["shape"].GetArray())
            info.shape.push_back(d.GetInt64());
        const auto& off = it->value["data_offsets"].GetArray();
        const size_t b = 8 + n + off[0].GetUint64(), e = 8 + n + off[1].GetUint64();
        out[name] = {info, raw.substr(b, e - b)};
    }
    return out;
}

std::string bytes_of(const TensorData& t)
{
    const auto v = read_all(t);
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

const char* const kModels[] = {"bert", "bloom", "codegen", "falcon", "gpt2", "gpt_neox",
                               "gptj", "llama",  "mistral", "mpt",    "roberta", "t5"};

TEST(TorchReader, HfFixturesMatchSafetensors)
{
    for (const char* model : kModels) {
        SCOPED_TRACE(model);
        const auto bin = test::data_path(std::string("hf/") + model + "/bin/pytorch_model.bin");
        EXPECT_TRUE(is_torch_zip(read_head(bin, 8)));
        const Checkpoint ck = read_torch(bin);
        EXPECT_EQ(ck.format, "pytorch");
        ASSERT_TRUE(ck.root.is_map());
        const auto ref = read_safetensors(test::data_path(std::string("hf/") + model + "/safetensors/model.safetensors"));
        size_t matched = 0;
        std::map<const TensorData*, std::string> seen;
        for (const auto& [k, v] : ck.root.entries()) {
            ASSERT_TRUE(v.is_tensor()) << k.as_string();
            const TensorPtr& t = v.as_tensor();
            auto r = ref.find(k.as_string());
            if (r == ref.end()) {
                // safetensors drops tied copies; the .bin must then hold the same storage twice.
                continue;
            }
            EXPECT_EQ(t->info(), r->second.first) << k.as_string();
            EXPECT_EQ(bytes_of(*t), r->second.second) << k.as_string();
            ++matched;
        }
        EXPECT_EQ(matched, ref.size());
    }
}

TEST(TorchReader, Gpt2TiedHeadSharesOneTensor)
{
    const Checkpoint ck = read_torch(test::data_path("hf/gpt2/bin/pytorch_model.bin"));
    const Node* wte = ck.root.find("transformer.wte.weight");
    const Node* head = ck.root.find("lm_head.weight");
    ASSERT_TRUE(wte && head);
    EXPECT_EQ(wte->as_tensor().get(), head->as_tensor().get());
    EXPECT_NE(ck.root.find("transformer.wpe.weight")->as_tensor().get(), wte->as_tensor().get());
    // Contiguous tensors are zero-copy views of the mapping.
    EXPECT_NE(wte->as_tensor()->data(), nullptr);
}

TEST(TorchReader, ZipDirectoryOfGpt2)
{
    const auto file = MappedFile::open(test::data_path("hf/gpt2/bin/pytorch_model.bin"));
    const ZipDirectory dir = parse_zip_directory(file->data(), file->size(), "gpt2");
    EXPECT_EQ(dir.archive_name, "pytorch_model");
    EXPECT_EQ(dir.entries.size(), 30u);
    ASSERT_TRUE(dir.find_record("data.pkl"));
    ASSERT_TRUE(dir.find_record("version"));
    for (const auto& e : dir.entries) {
        EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
        const auto b = zip_entry_bytes(e, file->data(), file->size(), "gpt2");
        EXPECT_EQ(crc32_update(0, b.data(), b.size()), e.crc32) << e.name;
    }
    EXPECT_EQ(zip_entry_bytes(*dir.find_record("version"), file->data(), file->size(), "gpt2"), "3\n");
}

TEST(TorchReader, Crc32KnownValue)
{
    EXPECT_EQ(crc32_update(0, "123456789", 9), 0xcbf43926u);
    EXPECT_EQ(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

// The zip CRC-32 one bit at a time: the definition the fast paths must agree with.
uint32_t crc32_bitwise(uint32_t crc, const unsigned char* p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; ++i) {
        crc ^= p[i];
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

TEST(TorchReader, Crc32AgreesWithTheDefinitionAtEveryLengthAndAlignment)
{
    // Lengths around the folding path's 64- and 16-byte steps, at every alignment, continued from
    // a non-zero CRC; then a large buffer in one call, split anywhere, and combined.
    std::vector<unsigned char> buf(3 << 20);
    std::mt19937 rng(5);
    for (auto& b : buf)
        b = static_cast<unsigned char>(rng());
    for (size_t offset = 0; offset < 16; ++offset)
        for (size_t n = 0; n < 300; ++n)
            ASSERT_EQ(crc32_update(0x12345678u, buf.data() + offset, n),
                      crc32_bitwise(0x12345678u, buf.data() + offset, n))
                << "offset " << offset << ", length " << n;
    const uint32_t whole = crc32_bitwise(0, buf.data() + 3, buf.size() - 3);
    EXPECT_EQ(crc32_update(0, buf.data() + 3, buf.size() - 3), whole);
    for (size_t cut : {size_t{4}, size_t{63}, size_t{64}, size_t{1000}, size_t{1} << 20, buf.size() - 100}) {
        const uint32_t a = crc32_update(0, buf.data() + 3, cut - 3);
        const uint32_t b = crc32_update(0, buf.data() + cut, buf.size() - cut);
        EXPECT_EQ(crc32_update(a, buf.data() + cut, buf.size() - cut), whole) << cut;
        EXPECT_EQ(crc32_combine(a, b, buf.size() - cut), whole) << cut;
    }
}

std::vector<float> floats_of(const TensorData& t)
{
    const auto b = read_all(t);
    std::vector<float> f(b.size() / 4);
    if (!b.empty())
        std::memcpy(f.data(), b.data(), b.size());
    return f;
}

TEST(TorchReader, StridedAndOffsetViewsAreGathered)
{
    test::TempDir dir;
    const auto path = write_views(dir, 12,
                                  {{"t", 0, {4, 3}, {1, 4}},        // transpose of a 3x4
                                   {"slice", 2, {3}, {1}},          // [2:5]
                                   {"step", 1, {2, 3}, {6, 2}},     // every other element
                                   {"bcast", 5, {2, 2}, {0, 1}},    // stride 0
                                   {"scalar", 7, {}, {}},           // rank 0
                                   {"empty", 12, {0, 3}, {3, 1}}}); // empty at the end
    const Checkpoint ck = read_torch(path);
    EXPECT_EQ(floats_of(*ck.root.find("t")->as_tensor()),
              (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
    EXPECT_EQ(floats_of(*ck.root.find("slice")->as_tensor()), (std::vector<float>{2, 3, 4}));
    EXPECT_NE(ck.root.find("slice")->as_tensor()->data(), nullptr);
    EXPECT_EQ(floats_of(*ck.root.find("step")->as_tensor()), (std::vector<float>{1, 3, 5, 7, 9, 11}));
    EXPECT_EQ(floats_of(*ck.root.find("bcast")->as_tensor()), (std::vector<float>{5, 6, 5, 6}));
    EXPECT_EQ(floats_of(*ck.root.find("scalar")->as_tensor()), (std::vector<float>{7}));
    EXPECT_TRUE(floats_of(*ck.root.find("empty")->as_tensor()).empty());

    // Partial reads at unaligned offsets agree with the whole gather.
    const TensorData& t = *ck.root.find("t")->as_tensor();
    const auto whole = read_all(t);
    for (uint64_t off = 0; off < whole.size(); off += 3) {
        for (uint64_t len : {1u, 5u, 13u}) {
            if (off + len > whole.size())
                continue;
            std::vector<std::byte> part(len);
            t.read(off, part.data(), len);
            EXPECT_EQ(0, std::memcmp(part.data(), whole.data() + off, len)) << off << "+" << len;
        }
    }
}

TEST(TorchReader, ViewsOutsideTheStorageAreRejected)
{
    const std::vector<View> bad = {
        {"x", 0, {4, 4}, {4, 1}},             // 16 elements in 12
        {"x", 11, {2}, {1}},                  // offset + 1 past the end
        {"x", 0, {2, 2}, {INT64_MAX / 2, 1}}, // overflowing stride
        {"x", 0, {3}, {-1}},                  // negative stride
        {"x", -1, {1}, {1}},                  // negative offset
        {"x", 0, {2, 2}, {1}},                // rank mismatch
        {"x", 0, {int64_t{1} << 30, int64_t{1} << 30}, {0, 0}}, // broadcast to 2^62 bytes
        {"x", 0, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}}, // element count overflows
    };
    for (const auto& v : bad) {
        test::TempDir dir;
        const auto path = write_views(dir, 12, {v});
        try {
            read_torch(path);
            ADD_FAILURE() << "accepted offset " << v.offset;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("views.pt"), std::string::npos) << e.what();
        }
    }
}

TEST(TorchReader, RejectsNonTorchBytes)
{
    EXPECT_THROW(read_torch_buffer(nullptr, reinterpret_cast<const std::byte*>("hello"), 5, "x"), InputError);
    EXPECT_THROW(read_torch_buffer(nullptr, nullptr, 0, "x"), InputError);
    EXPECT_FALSE(is_torch_zip("\x89HDF"));
}

} // namespace
} // namespace ckpt
