// SPDX-License-Identifier: Apache-2.0
// --dtype casts against torch's own: every fixture tensor and every 16-bit float pattern by CRC-32,
// the formats' edge values byte for byte, overflow reported by tensor name, ties kept.
#include "convert/dtype_cast.hpp"
#include "core/crc32.hpp"
#include "core/tree_paths.hpp"
#include "formats/container.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace ckpt;
using ckpt::test::data_path;

namespace {

/// The tensor `name` of a flat checkpoint.
TensorPtr tensor_named(const Checkpoint& ck, const std::string& name)
{
    for (const auto& t : flat_tensors(ck.root, name))
        if (t.name == name)
            return t.tensor;
    return nullptr;
}

/// Every 16-bit pattern, viewed as `d` (F16 or BF16).
TensorPtr iota16(DType d)
{
    std::vector<std::byte> bytes(65536 * 2);
    for (uint32_t i = 0; i < 65536; ++i) {
        const auto v = static_cast<uint16_t>(i);
        std::memcpy(bytes.data() + i * 2, &v, 2);
    }
    return std::make_shared<MemoryTensor>(TensorInfo{d, {65536}}, std::move(bytes));
}

uint32_t crc_of(const TensorData& t)
{
    const std::vector<std::byte> b = read_all(t);
    return crc32_update(0, b.data(), b.size());
}

} // namespace

TEST(DtypeCast, EveryFixtureTensorAndEvery16BitPatternMatchesTorch)
{
    std::ifstream tsv(data_path("dtype/torch_casts.tsv"));
    ASSERT_TRUE(tsv) << "tests/data/dtype/torch_casts.tsv";
    std::map<std::string, Checkpoint> opened;
    auto overflows = std::make_shared<convert::CastOverflows>();
    size_t checked = 0;
    for (std::string line; std::getline(tsv, line);) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream row(line);
        std::string source, name, dtype, bytes, crc;
        std::getline(row, source, '\t');
        std::getline(row, name, '\t');
        std::getline(row, dtype, '\t');
        std::getline(row, bytes, '\t');
        std::getline(row, crc, '\t');
        TensorPtr in;
        if (source == "iota_f16" || source == "iota_bf16") {
            in = iota16(source == "iota_f16" ? DType::f16 : DType::bf16);
        } else {
            auto it = opened.find(source);
            if (it == opened.end())
                it = opened.emplace(source, open_checkpoint(data_path(source))).first;
            in = tensor_named(it->second, name);
        }
        ASSERT_TRUE(in) << source << " " << name;
        const auto to = convert::parse_float_dtype(dtype);
        ASSERT_TRUE(to) << dtype;
        TensorPtr out = convert::cast_float(in, name, *to, overflows);
        EXPECT_EQ(out->info().nbytes(), std::stoull(bytes)) << source << " " << name << " " << dtype;
        EXPECT_EQ(crc_of(*out), std::stoul(crc)) << source << " " << name << " -> " << dtype
                                                 << ": differs from torch's cast";
        ++checked;
    }
    EXPECT_GT(checked, 1000u);
}

TEST(DtypeCast, EdgeValuesAreByteIdenticalToTorch)
{
    const Checkpoint src = open_checkpoint(data_path("dtype/edge_cases.safetensors"));
    for (const char* dtype : convert::kDtypeChoices) {
        const Checkpoint want = open_checkpoint(data_path(std::string("dtype/edge_cases_") + dtype + ".safetensors"));
        auto overflows = std::make_shared<convert::CastOverflows>();
        const auto cast = convert::cast_floats(flat_tensors(src.root, "edge_cases"), *convert::parse_float_dtype(dtype),
                                               overflows);
        for (const auto& t : cast) {
            TensorPtr expected = tensor_named(want, t.name);
            ASSERT_TRUE(expected) << t.name;
            ASSERT_EQ(t.tensor->info(), expected->info()) << t.name << " -> " << dtype;
            const auto got = read_all(*t.tensor), exp = read_all(*expected);
            const size_t es = dtype_size(expected->info().dtype);
            for (size_t i = 0; i < got.size(); i += es)
                if (std::memcmp(got.data() + i, exp.data() + i, es) != 0) {
                    ADD_FAILURE() << t.name << " -> " << dtype << ": element " << i / es << " differs from torch";
                    break;
                }
        }
        // Integer and bool tensors pass through untouched (the very same tensor).
        for (const auto& t : cast) {
            if (t.name == "i64" || t.name == "mask") {
                EXPECT_EQ(t.tensor, tensor_named(src, t.name)) << t.name;
            }
        }
        // Overflow is reported by tensor name: float16 has 65504 at most; float32 and bfloat16
        // only overflow from float64 (3e38 * 3) and at the very top of float32 (bfloat16).
        const auto counts = overflows->counts();
        if (std::string(dtype) == "float16") {
            EXPECT_GT(counts.count("f32"), 0u);
            EXPECT_GT(counts.count("f64"), 0u);
        }
        EXPECT_EQ(counts.count("i64"), 0u);
        EXPECT_EQ(counts.count("mask"), 0u);
    }
}

TEST(DtypeCast, OverflowCountsOnlyFiniteValuesThatBecameInfinite)
{
    std::vector<float> v{1.0f, 70000.0f, -1e6f, INFINITY, 65504.0f, NAN};
    std::vector<std::byte> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    TensorPtr t = std::make_shared<MemoryTensor>(TensorInfo{DType::f32, {6}}, std::move(b));
    auto overflows = std::make_shared<convert::CastOverflows>();
    TensorPtr h = convert::cast_float(t, "w", DType::f16, overflows);
    read_all(*h);
    EXPECT_EQ(overflows->counts(), (std::map<std::string, uint64_t>{{"w", 2}}));
    // Reads that split an element still count it once (70000 is split between these two reads).
    auto partial = std::make_shared<convert::CastOverflows>();
    TensorPtr h2 = convert::cast_float(t, "w", DType::f16, partial);
    std::byte buf[12];
    h2->read(0, buf, 3);
    h2->read(3, buf, 9);
    EXPECT_EQ(partial->counts(), (std::map<std::string, uint64_t>{{"w", 2}}));
}

TEST(DtypeCast, TiedTensorsStayTiedInListsAndTrees)
{
    const Checkpoint ck = open_checkpoint(data_path("hf/gpt2/bin/pytorch_model.bin"));
    auto overflows = std::make_shared<convert::CastOverflows>();
    const auto list = convert::cast_floats(flat_tensors(ck.root, "gpt2"), DType::bf16, overflows);
    std::map<std::string, TensorPtr> by_name;
    for (const auto& t : list)
        by_name[t.name] = t.tensor;
    EXPECT_EQ(by_name.at("lm_head.weight"), by_name.at("transformer.wte.weight"));
    EXPECT_EQ(by_name.at("lm_head.weight")->info().dtype, DType::bf16);
    const Node tree = convert::cast_floats(ck.root, DType::f16, overflows);
    std::map<std::string, TensorPtr> in_tree;
    for_each_leaf(tree, [&](const std::string& n, const Node& leaf) {
        if (leaf.is_tensor())
            in_tree[n] = leaf.as_tensor();
    });
    EXPECT_EQ(in_tree.at("lm_head.weight"), in_tree.at("transformer.wte.weight"));
    EXPECT_EQ(in_tree.at("lm_head.weight")->info().dtype, DType::f16);
}

TEST(DtypeCast, DtypeNames)
{
    EXPECT_EQ(convert::parse_float_dtype("bfloat16"), DType::bf16);
    EXPECT_EQ(convert::parse_float_dtype("float16"), DType::f16);
    EXPECT_EQ(convert::parse_float_dtype("float32"), DType::f32);
    EXPECT_FALSE(convert::parse_float_dtype("fp16"));
    EXPECT_EQ(convert::torch_dtype_name(DType::bf16), "bfloat16");
    EXPECT_FALSE(convert::torch_dtype_name(DType::i64));
}
