// SPDX-License-Identifier: Apache-2.0
// Sharded checkpoints: the Model Zoo's shard boundaries, names and index text; the index reader.
#include "core/error.hpp"
#include "formats/safetensors/hf_index.hpp"
#include "formats/safetensors/safetensors_reader.hpp"
#include "st_test_util.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <map>

namespace fs = std::filesystem;
using namespace ckpt;
using ckpt::test::data_path;

namespace {

const char* kRefSafetensors = "cs-ref/gpt2/cs_to_hf_safetensors_100KB/pytorch_model_to_cs-2.3_to_hf";
const char* kRefBin = "cs-ref/gpt2/cs_to_hf_bin_100KB/pytorch_model_to_cs-2.3_to_hf";

/// The CS->HF output tensors in the Model Zoo's order (its index's weight_map order).
std::vector<NamedTensor> reference_tensors()
{
    Checkpoint ck = read_hf_index(data_path(kRefSafetensors) / "model.safetensors.index.json", read_safetensors);
    return test::named_tensors(ck);
}

/// Records .bin shards instead of writing PyTorch files (that writer lives elsewhere).
struct BinRecorder {
    std::vector<std::pair<std::string, std::vector<std::string>>> shards;
    void operator()(const fs::path& p, const std::vector<NamedTensor>& tensors)
    {
        std::vector<std::string> names;
        for (const auto& t : tensors)
            names.push_back(t.name);
        shards.emplace_back(p.filename().string(), std::move(names));
        test::write_file(p, "bin shard placeholder");
    }
};

std::string input_error(const std::function<void()>& f)
{
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "<no InputError>";
}

} // namespace

TEST(HfSharded, SafetensorsAt100KBMatchesModelZooByteForByte)
{
    const auto tensors = reference_tensors();
    ASSERT_EQ(tensors.size(), 33u);
    test::TempDir tmp;
    ShardOptions opt;
    opt.max_shard_size = parse_size("100KB");
    opt.safetensors = true;
    const auto report = write_hf_sharded(tmp.path(), tensors, opt, nullptr);
    EXPECT_EQ(report.index_file, "model.safetensors.index.json");
    EXPECT_EQ(report.total_size, 358408u);
    EXPECT_EQ(report.shard_files,
              (std::vector<std::string>{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                        "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"}));
    const fs::path ref = data_path(kRefSafetensors);
    EXPECT_EQ(test::list_tree(tmp.path()), test::list_tree(ref));
    for (const auto& f : test::list_tree(ref)) {
        SCOPED_TRACE(f);
        EXPECT_TRUE(test::read_file(tmp / f) == test::read_file(ref / f));
    }
}

TEST(HfSharded, BinAt100KBMatchesModelZooIndex)
{
    const auto tensors = reference_tensors();
    test::TempDir tmp;
    ShardOptions opt;
    opt.max_shard_size = parse_size("100KB");
    BinRecorder rec;
    const auto report = write_hf_sharded(tmp.path(), tensors, opt, std::ref(rec));
    EXPECT_EQ(report.index_file, "pytorch_model.bin.index.json");
    ASSERT_EQ(rec.shards.size(), 4u);
    EXPECT_EQ(rec.shards[0].first, "pytorch_model-00001-of-00004.bin");
    EXPECT_EQ(rec.shards[3].first, "pytorch_model-00004-of-00004.bin");
    EXPECT_EQ(rec.shards[0].second.front(), "transformer.wte.weight");
    EXPECT_EQ(rec.shards[3].second.back(), "lm_head.weight");
    EXPECT_EQ(test::read_file(tmp / "pytorch_model.bin.index.json"),
              test::read_file(data_path(kRefBin) / "pytorch_model.bin.index.json"));
}

TEST(HfSharded, DefaultSizeGivesOneShard)
{
    const auto tensors = reference_tensors();
    test::TempDir tmp;
    ShardOptions opt;
    opt.safetensors = true;
    const auto report = write_hf_sharded(tmp.path(), tensors, opt, nullptr);
    EXPECT_EQ(report.shard_files, (std::vector<std::string>{"model-00001-of-00001.safetensors"}));
    Checkpoint back = read_hf_index(tmp / "model.safetensors.index.json", read_safetensors);
    const auto got = test::named_tensors(back);
    ASSERT_EQ(got.size(), tensors.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].name, tensors[i].name);
        EXPECT_TRUE(equal_bytes(*got[i].tensor, *tensors[i].tensor));
    }
}

TEST(HfSharded, FirstTensorOverLimitLeavesShardOneEmpty)
{
    std::vector<NamedTensor> in = {{"big", test::make_tensor(DType::f32, {100}, 1)},
                                   {"small", test::make_tensor(DType::f32, {10}, 2)},
                                   {"small2", test::make_tensor(DType::f32, {10}, 3)},
                                   {"huge", test::make_tensor(DType::f32, {300}, 4)},
                                   {"tail", test::make_tensor(DType::u8, {3}, 5)}};
    test::TempDir tmp;
    ShardOptions opt;
    opt.max_shard_size = 100;
    opt.safetensors = true;
    const auto report = write_hf_sharded(tmp.path(), in, opt, nullptr);
    ASSERT_EQ(report.shard_files.size(), 5u);
    EXPECT_EQ(report.shard_files[0], "model-00001-of-00005.safetensors");
    EXPECT_EQ(report.total_size, 400u + 40 + 40 + 1200 + 3);
    // Shard 1 exists and holds nothing; the index never names it.
    EXPECT_EQ(read_safetensors(tmp / "model-00001-of-00005.safetensors").root.size(), 0u);
    const std::string index = test::read_file(tmp / "model.safetensors.index.json");
    EXPECT_EQ(index.find("model-00001-of-00005"), std::string::npos);
    Checkpoint back = read_hf_index(tmp / "model.safetensors.index.json", read_safetensors);
    EXPECT_EQ(back.shard_of.at("big"), "model-00002-of-00005.safetensors");
    EXPECT_EQ(back.shard_of.at("small"), "model-00003-of-00005.safetensors");
    EXPECT_EQ(back.shard_of.at("small2"), "model-00003-of-00005.safetensors");
    EXPECT_EQ(back.shard_of.at("huge"), "model-00004-of-00005.safetensors");
    EXPECT_EQ(back.shard_of.at("tail"), "model-00005-of-00005.safetensors");
}

TEST(HfSharded, BoolCountsOneEighthByteAndIndexText)
{
    std::vector<NamedTensor> in = {{"mask", test::make_tensor(DType::boolean, {9}, 1)},
                                   {"w", test::make_tensor(DType::bf16, {3}, 2)}};
    test::TempDir tmp;
    ShardOptions opt;
    BinRecorder rec;
    const auto report = write_hf_sharded(tmp.path(), in, opt, std::ref(rec));
    EXPECT_EQ(report.total_size, 2u + 6u);
    EXPECT_EQ(test::read_file(tmp / "pytorch_model.bin.index.json"),
              "{\n    \"metadata\": {\n        \"total_size\": 8\n    },\n    \"weight_map\": {\n"
              "        \"mask\": \"pytorch_model-00001-of-00001.bin\",\n"
              "        \"w\": \"pytorch_model-00001-of-00001.bin\"\n    }\n}");
    EXPECT_EQ(hf_shard_weight_size({DType::boolean, {16}}), 2u);
    EXPECT_EQ(hf_shard_weight_size({DType::boolean, {17}}), 3u);
    EXPECT_EQ(hf_shard_weight_size({DType::boolean, {}}), 1u);
    EXPECT_EQ(hf_shard_weight_size({DType::c64, {2}}), 16u);
}

TEST(HfSharded, NoTensorsStillWritesOneShard)
{
    test::TempDir tmp;
    ShardOptions opt;
    opt.safetensors = true;
    const auto report = write_hf_sharded(tmp.path(), {}, opt, nullptr);
    EXPECT_EQ(report.shard_files, (std::vector<std::string>{"model-00001-of-00001.safetensors"}));
    EXPECT_EQ(test::read_file(tmp / "model.safetensors.index.json"),
              "{\n    \"metadata\": {\n        \"total_size\": 0\n    },\n    \"weight_map\": {}\n}");
}

TEST(HfSharded, PythonStyleEscapesInIndex)
{
    std::vector<NamedTensor> in = {{"caf\xc3\xa9.\xf0\x9f\x98\x80\"x\"", test::make_tensor(DType::u8, {1}, 1)}};
    test::TempDir tmp;
    ShardOptions opt;
    BinRecorder rec;
    write_hf_sharded(tmp.path(), in, opt, std::ref(rec));
    const std::string text = test::read_file(tmp / "pytorch_model.bin.index.json");
    EXPECT_NE(text.find(R"("caf\u00e9.\ud83d\ude00\"x\"": )"), std::string::npos) << text;
}

TEST(HfSharded, TiesDroppedForSafetensorsKeptForBin)
{
    auto shared = test::make_tensor(DType::f32, {8}, 1);
    std::vector<NamedTensor> in = {{"wte", shared}, {"ln", test::make_tensor(DType::f32, {2}, 2)}, {"lm_head", shared}};
    {
        test::TempDir tmp;
        ShardOptions opt;
        opt.safetensors = true;
        const auto report = write_hf_sharded(tmp.path(), in, opt, nullptr);
        ASSERT_EQ(report.dropped_aliases.size(), 1u);
        EXPECT_EQ(report.dropped_aliases[0].alias, "lm_head");
        EXPECT_EQ(report.total_size, 40u);
        Checkpoint back = read_hf_index(tmp / "model.safetensors.index.json", read_safetensors);
        EXPECT_EQ(back.root.size(), 2u);
        EXPECT_EQ(back.root.find("lm_head"), nullptr);
    }
    {
        test::TempDir tmp;
        ShardOptions opt;
        BinRecorder rec;
        const auto report = write_hf_sharded(tmp.path(), in, opt, std::ref(rec));
        EXPECT_TRUE(report.dropped_aliases.empty());
        EXPECT_EQ(report.total_size, 72u);
        ASSERT_EQ(rec.shards.size(), 1u);
        EXPECT_EQ(rec.shards[0].second, (std::vector<std::string>{"wte", "ln", "lm_head"}));
    }
}

TEST(HfSharded, DeterministicAcrossRuns)
{
    const auto tensors = reference_tensors();
    test::TempDir a, b;
    ShardOptions opt;
    opt.max_shard_size = parse_size("50KB");
    opt.safetensors = true;
    write_hf_sharded(a.path(), tensors, opt, nullptr);
    write_hf_sharded(b.path(), tensors, opt, nullptr);
    ASSERT_EQ(test::list_tree(a.path()), test::list_tree(b.path()));
    for (const auto& f : test::list_tree(a.path()))
        EXPECT_TRUE(test::read_file(a / f) == test::read_file(b / f)) << f;
}

TEST(HfSharded, ParseSize)
{
    EXPECT_EQ(parse_size("10GB"), 10'000'000'000u);
    EXPECT_EQ(parse_size("100KB"), 100'000u);
    EXPECT_EQ(parse_size("5GiB"), 5ull << 30);
    EXPECT_EQ(parse_size("500MB"), 500'000'000u);
    EXPECT_EQ(parse_size("3MiB"), 3u << 20);
    EXPECT_EQ(parse_size("2KiB"), 2048u);
    EXPECT_EQ(parse_size("1TB"), 1'000'000'000'000u);
    EXPECT_EQ(parse_size("1TiB"), 1ull << 40);
    EXPECT_EQ(parse_size("1024"), 1024u);
    EXPECT_EQ(parse_size("7B"), 7u);
    EXPECT_EQ(parse_size("0"), 0u);
    for (const char* bad : {"", "GB", "10XB", "10 GB", "-1GB", "1.5GB", "10gb", "10Gb", "x10GB", "10GB ",
                            "99999999999999999999", "20000000000GB"}) {
        try {
            parse_size(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find(fmt::format("size '{}' is not in a valid format", bad)),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(HfIndex, Sniff)
{
    EXPECT_TRUE(is_hf_index(test::read_file(data_path("hf/gpt2/sharded-safetensors/model.safetensors.index.json"))));
    EXPECT_TRUE(is_hf_index(test::read_file(data_path("hf/llama/sharded-bin/pytorch_model.bin.index.json"))));
    EXPECT_TRUE(is_hf_index("\n {\"weight_map\": {}}"));
    EXPECT_FALSE(is_hf_index(test::read_file(data_path("hf/gpt2/safetensors/config.json"))));
    EXPECT_FALSE(is_hf_index("[\"weight_map\"]"));
    EXPECT_FALSE(is_hf_index(""));
}

TEST(HfIndex, ShardOpenerIsCalledOncePerShard)
{
    std::map<std::string, int> calls;
    auto opener = [&](const fs::path& p) {
        ++calls[p.filename().string()];
        return read_safetensors(p);
    };
    Checkpoint ck = read_hf_index(data_path("hf/llama/sharded-safetensors/model.safetensors.index.json"), opener);
    EXPECT_EQ(calls.size(), 3u);
    for (const auto& [f, n] : calls)
        EXPECT_EQ(n, 1) << f;
    ASSERT_EQ(ck.metadata.size(), 1u);
    EXPECT_EQ(ck.metadata[0].second, "pt");
}

/// One file named two ways ("./x", ".//x", "x") is one shard: opened once, from inside the folder.
TEST(HfIndex, OneShardSpelledSeveralWaysIsOpenedOnce)
{
    test::TempDir tmp;
    write_safetensors(tmp / "model.safetensors",
                      {{"a", test::make_tensor(DType::f32, {2}, 1)}, {"b", test::make_tensor(DType::f32, {2}, 2)},
                       {"c", test::make_tensor(DType::f32, {2}, 3)}},
                      {});
    test::write_file(tmp / "model.safetensors.index.json",
                     R"({"weight_map": {"a": "./model.safetensors", "b": ".//model.safetensors", )"
                     R"("c": "model.safetensors"}})");
    std::vector<fs::path> opened;
    Checkpoint ck = read_hf_index(tmp / "model.safetensors.index.json", [&](const fs::path& p) {
        opened.push_back(p);
        return read_safetensors(p);
    });
    ASSERT_EQ(opened.size(), 1u);
    EXPECT_EQ(opened[0], tmp / "model.safetensors");
    EXPECT_EQ(ck.root.entries().size(), 3u);
}

TEST(HfIndex, UnlistedTensorIsIgnoredWithANote)
{
    test::TempDir tmp;
    write_safetensors(tmp / "s1.safetensors",
                      {{"a", test::make_tensor(DType::f32, {2}, 1)}, {"extra", test::make_tensor(DType::f32, {2}, 2)}},
                      {{"format", "pt"}});
    test::write_file(tmp / "model.safetensors.index.json", R"({"metadata": {}, "weight_map": {"a": "s1.safetensors"}})");
    Checkpoint ck = read_hf_index(tmp / "model.safetensors.index.json", read_safetensors);
    EXPECT_EQ(ck.root.size(), 1u);
    EXPECT_NE(ck.root.find("a"), nullptr);
    ASSERT_EQ(ck.notes.size(), 1u);
    EXPECT_NE(ck.notes[0].find("\"extra\""), std::string::npos);
}

TEST(HfIndex, SymlinkLeavingTheDirectoryIsRefused)
{
    test::TempDir outside, tmp;
    write_safetensors(outside / "secret.safetensors", {{"a", test::make_tensor(DType::f32, {2}, 1)}}, {});
    fs::create_symlink(outside / "secret.safetensors", tmp / "model-00001-of-00001.safetensors");
    test::write_file(tmp / "model.safetensors.index.json",
                     R"({"weight_map": {"a": "model-00001-of-00001.safetensors"}})");
    const std::string msg =
        input_error([&] { read_hf_index(tmp / "model.safetensors.index.json", read_safetensors); });
    EXPECT_NE(msg.find("outside the index's directory"), std::string::npos) << msg;
}

TEST(HfIndex, ShardsOfDifferentFormatsAreRefused)
{
    test::TempDir tmp;
    write_safetensors(tmp / "a.safetensors", {{"a", test::make_tensor(DType::f32, {2}, 1)}}, {});
    write_safetensors(tmp / "b.safetensors", {{"b", test::make_tensor(DType::f32, {2}, 1)}}, {});
    test::write_file(tmp / "i.json", R"({"weight_map": {"a": "a.safetensors", "b": "b.safetensors"}})");
    auto opener = [](const fs::path& p) {
        Checkpoint ck = read_safetensors(p);
        if (p.filename() == "b.safetensors")
            ck.format = "pytorch";
        return ck;
    };
    const std::string msg = input_error([&] { read_hf_index(tmp / "i.json", opener); });
    EXPECT_NE(msg.find("one format"), std::string::npos) << msg;
}

TEST(HfIndex, EmptyWeightMapAndDuplicateTopLevelKey)
{
    test::TempDir tmp;
    test::write_file(tmp / "pytorch_model.bin.index.json", R"({"metadata": {"total_size": 0}, "weight_map": {}})");
    Checkpoint ck = read_hf_index(tmp / "pytorch_model.bin.index.json", read_safetensors);
    EXPECT_EQ(ck.format, "pytorch-sharded");
    EXPECT_EQ(ck.root.size(), 0u);
    test::write_file(tmp / "model.safetensors.index.json", R"({"weight_map": {}, "weight_map": {"a": "x"}})");
    const std::string msg =
        input_error([&] { read_hf_index(tmp / "model.safetensors.index.json", read_safetensors); });
    EXPECT_NE(msg.find("\"weight_map\" appears twice"), std::string::npos) << msg;
}
