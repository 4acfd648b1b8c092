// SPDX-License-Identifier: Apache-2.0
// Writing safetensors: round trips over dtypes and shapes, ties, determinism, layout, errors.
#include "core/error.hpp"
#include "formats/safetensors/safetensors_header.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "st_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace fs = std::filesystem;
using namespace ckpt;

namespace {

void expect_same(const std::vector<NamedTensor>& expected, const Checkpoint& ck)
{
    const auto got = test::named_tensors(ck);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(expected[i].name);
        EXPECT_EQ(got[i].name, expected[i].name);
        EXPECT_EQ(got[i].tensor->info(), expected[i].tensor->info());
        EXPECT_TRUE(equal_bytes(*got[i].tensor, *expected[i].tensor));
    }
}

std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "<no InputError>";
}

} // namespace

TEST(SafetensorsWriter, RoundTripsEveryDtypeAndShape)
{
    size_t count = 0;
    const DType* all = all_dtypes(&count);
    const std::vector<std::vector<int64_t>> shapes = {
        {}, {0}, {3, 0, 2}, {5}, {2, 3}, {1, 2, 1, 2, 1, 2, 1, 3}};
    std::vector<NamedTensor> tensors;
    uint32_t seed = 1;
    for (size_t d = 0; d < count; ++d)
        for (const auto& shape : shapes)
            tensors.push_back({fmt::format("{}.{}", dtype_name(all[d]), fmt::join(shape, "x")),
                               test::make_tensor(all[d], shape, seed++)});
    test::TempDir tmp;
    const fs::path p = tmp / "all.safetensors";
    const auto report = write_safetensors(p, tensors, {{"format", "pt"}});
    EXPECT_TRUE(report.dropped_aliases.empty());
    EXPECT_EQ(report.file_size, fs::file_size(p));
    Checkpoint ck = read_safetensors(p);
    expect_same(tensors, ck);
    ASSERT_EQ(ck.metadata.size(), 1u);
    EXPECT_EQ(ck.metadata[0], (std::pair<std::string, std::string>{"format", "pt"}));
}

TEST(SafetensorsWriter, HeaderIsCompactAlignedAndStartsWithMetadata)
{
    test::TempDir tmp;
    const fs::path p = tmp / "a.safetensors";
    write_safetensors(p, {{"w", test::make_tensor(DType::f16, {3}, 7)}}, {{"format", "pt"}});
    const std::string bytes = test::read_file(p);
    const auto h = detail::parse_safetensors_header(bytes, bytes.size(), p.string());
    EXPECT_EQ(h.data_start % 8, 0u);
    const std::string header = bytes.substr(8, h.header_size);
    const std::string expected =
        R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})";
    ASSERT_GE(header.size(), expected.size());
    EXPECT_EQ(header.substr(0, expected.size()), expected);
    EXPECT_EQ(header.find_first_not_of(' ', expected.size()), std::string::npos); // space padding only
    EXPECT_LT(header.size() - expected.size(), 8u);
}

TEST(SafetensorsWriter, ChunkedReadPathMatches)
{
    // 17 MiB + 3 bytes through read() only: crosses the 8 MiB piece boundaries twice, so both
    // piece buffers are used and one is reused while the other is being written.
    auto inner = test::make_tensor(DType::u8, {(17 << 20) + 3}, 42);
    auto ro = std::make_shared<test::ReadOnlyTensor>(inner);
    test::TempDir tmp;
    const fs::path p = tmp / "big.safetensors";
    uint64_t reported = 0;
    int calls = 0;
    write_safetensors(p, {{"small", test::make_tensor(DType::i32, {2}, 1)}, {"big", ro}}, {},
                      [&](uint64_t n) {
                          reported += n;
                          ++calls;
                      });
    EXPECT_EQ(ro->m_reads, 3);
    EXPECT_EQ(reported, 8u + (17u << 20) + 3u);
    EXPECT_EQ(calls, 4);
    Checkpoint ck = read_safetensors(p);
    EXPECT_TRUE(equal_bytes(*ck.root.find("big")->as_tensor(), *inner));
}

TEST(SafetensorsWriter, TiedTensorsWrittenOnce)
{
    auto shared = test::make_tensor(DType::f32, {4, 4}, 9);
    std::vector<NamedTensor> in = {{"transformer.wte.weight", shared},
                                   {"transformer.ln_f.bias", test::make_tensor(DType::f32, {4}, 3)},
                                   {"lm_head.weight", shared}};
    test::TempDir tmp;
    const auto report = write_safetensors(tmp / "t.safetensors", in, {{"format", "pt"}});
    ASSERT_EQ(report.dropped_aliases.size(), 1u);
    EXPECT_EQ(report.dropped_aliases[0].alias, "lm_head.weight");
    EXPECT_EQ(report.dropped_aliases[0].kept, "transformer.wte.weight");
    Checkpoint ck = read_safetensors(tmp / "t.safetensors");
    expect_same({in[0], in[1]}, ck);
    // Equal bytes in two different objects are not a tie: both are written.
    auto copy = test::make_tensor(DType::f32, {4, 4}, 9);
    const auto r2 = write_safetensors(tmp / "u.safetensors", {{"a", shared}, {"b", copy}}, {});
    EXPECT_TRUE(r2.dropped_aliases.empty());
    EXPECT_EQ(read_safetensors(tmp / "u.safetensors").root.size(), 2u);
}

TEST(SafetensorsWriter, OutputIsDeterministic)
{
    std::vector<NamedTensor> in;
    for (int i = 0; i < 20; ++i)
        in.push_back({fmt::format("layer.{}.weight", i), test::make_tensor(i % 2 ? DType::bf16 : DType::f32,
                                                                           {i + 1, 3}, static_cast<uint32_t>(i))});
    test::TempDir tmp;
    write_safetensors(tmp / "a.safetensors", in, {{"format", "pt"}});
    write_safetensors(tmp / "b.safetensors", in, {{"format", "pt"}});
    EXPECT_TRUE(test::read_file(tmp / "a.safetensors") == test::read_file(tmp / "b.safetensors"));
}

TEST(SafetensorsWriter, EscapesNamesAndMetadata)
{
    std::vector<NamedTensor> in = {{"quote\"back\\slash", test::make_tensor(DType::u8, {1}, 1)},
                                   {"ctl\n\t\x01", test::make_tensor(DType::u8, {1}, 2)},
                                   {"unicode.\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", test::make_tensor(DType::u8, {1}, 3)}};
    std::vector<std::pair<std::string, std::string>> meta = {{"format", "pt"}, {"note", "a \"b\"\n\xc3\xa9"}};
    test::TempDir tmp;
    write_safetensors(tmp / "e.safetensors", in, meta);
    Checkpoint ck = read_safetensors(tmp / "e.safetensors");
    expect_same(in, ck);
    EXPECT_EQ(ck.metadata, meta);
    const std::string bytes = test::read_file(tmp / "e.safetensors");
    EXPECT_NE(bytes.find(R"("ctl\n\t\u0001")"), std::string::npos);
}

TEST(SafetensorsWriter, LibraryOrder)
{
    std::vector<NamedTensor> in = {{"b", test::make_tensor(DType::u8, {1}, 1)},
                                   {"a", test::make_tensor(DType::u8, {1}, 2)},
                                   {"z", test::make_tensor(DType::f32, {1}, 3)},
                                   {"flag", test::make_tensor(DType::boolean, {1}, 4)},
                                   {"h", test::make_tensor(DType::bf16, {1}, 5)},
                                   {"i", test::make_tensor(DType::i64, {1}, 6)},
                                   {"c", test::make_tensor(DType::f16, {1}, 7)}};
    const auto out = safetensors_library_order(in);
    std::vector<std::string> names;
    for (const auto& nt : out)
        names.push_back(nt.name);
    EXPECT_EQ(names, (std::vector<std::string>{"i", "z", "h", "c", "a", "b", "flag"}));
}

// A tensor whose bytes cannot be read past `good` bytes (a truncated input, say).
class FailsAfter final : public TensorData {
public:
    FailsAfter(TensorInfo info, uint64_t good) : m_info(std::move(info)), m_good(good) {}
    const TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        if (offset + size > m_good)
            throw_input("source.bin: cannot read {} bytes at offset {}", size, offset);
        std::memset(dst, 7, size);
    }

private:
    TensorInfo m_info;
    uint64_t m_good;
};

TEST(SafetensorsWriter, ReadErrorWhileAPieceIsBeingWrittenIsAnInputError)
{
    // The first 8 MiB piece is being written on the helper thread when the second read fails:
    // the error names the output, the tensor and the source, and the writer does not hang or crash.
    test::TempDir tmp;
    auto bad = std::make_shared<FailsAfter>(TensorInfo{DType::u8, {20 << 20}}, 9 << 20);
    const std::string msg = error_of([&] { write_safetensors(tmp / "o.safetensors", {{"w", bad}}, {}); });
    EXPECT_NE(msg.find("o.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"w\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("source.bin"), std::string::npos) << msg;
}

TEST(SafetensorsWriter, RejectsBadInput)
{
    test::TempDir tmp;
    auto t = test::make_tensor(DType::f32, {1}, 1);
    auto u = test::make_tensor(DType::f32, {1}, 2);
    std::string msg = error_of([&] { write_safetensors(tmp / "d.safetensors", {{"x", t}, {"x", u}}, {}); });
    EXPECT_NE(msg.find("\"x\" given twice"), std::string::npos) << msg;
    EXPECT_NE(msg.find("d.safetensors"), std::string::npos) << msg;
    msg = error_of([&] { write_safetensors(tmp / "m.safetensors", {{"__metadata__", t}}, {}); });
    EXPECT_NE(msg.find("reserved"), std::string::npos) << msg;
    msg = error_of([&] { write_safetensors(tmp / "u.safetensors", {{"bad\xff", t}}, {}); });
    EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
    msg = error_of([&] { write_safetensors(tmp / "k.safetensors", {{"x", t}}, {{"a", "1"}, {"a", "2"}}); });
    EXPECT_NE(msg.find("metadata key \"a\" given twice"), std::string::npos) << msg;
    // An existing file is never overwritten.
    test::write_file(tmp / "exists.safetensors", "keep");
    msg = error_of([&] { write_safetensors(tmp / "exists.safetensors", {{"x", t}}, {}); });
    EXPECT_NE(msg.find("exists.safetensors"), std::string::npos) << msg;
    EXPECT_EQ(test::read_file(tmp / "exists.safetensors"), "keep");
}
