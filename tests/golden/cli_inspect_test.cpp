// SPDX-License-Identifier: Apache-2.0
// `inspect`, `diff` and `repack` on the real Hugging Face fixtures, as a user runs them.
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstring>

#include <filesystem>
#include <map>

namespace fs = std::filesystem;
using ckpt::test::data_path;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::TempDir;

namespace {

using ckpt::test::kFixtureFamilies;

ckpt::test::RunResult cli(std::vector<std::string> args)
{
    args.push_back("--plugin-dir");
    args.push_back(CKPTCONV_FIXTURE_PLUGIN_DIR);
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
}

} // namespace

TEST(CliInspect, EveryFixtureInEveryForm)
{
    for (const char* fam : kFixtureFamilies) {
        for (const char* rel : {"bin/pytorch_model.bin", "safetensors/model.safetensors"}) {
            auto path = data_path(std::string("hf/") + fam + "/" + rel);
            auto r = cli({"inspect", path.string()});
            EXPECT_EQ(r.exit_code, 0) << path << r.err;
            EXPECT_NE(r.out.find("Tensors: "), std::string::npos) << r.out;
        }
    }
    for (const char* rel : {"hf/gpt2/sharded-bin/pytorch_model.bin.index.json",
                            "hf/llama/sharded-safetensors/model.safetensors.index.json"}) {
        auto r = cli({"inspect", data_path(rel).string()});
        EXPECT_EQ(r.exit_code, 0) << rel << r.err;
        EXPECT_NE(r.out.find("(3 shards)"), std::string::npos) << r.out;
    }
}

TEST(CliInspect, JsonShowsDtypesShapesShardsAndTies)
{
    auto r = cli({"inspect", data_path("hf/gpt2/bin/pytorch_model.bin").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document d;
    d.Parse(r.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << r.out;
    std::map<std::string, const rapidjson::Value*> entries;
    for (const auto& e : d["entries"].GetArray())
        entries[e["name"].GetString()] = &e;
    const auto& attn = *entries.at("transformer.h.0.attn.c_attn.weight");
    EXPECT_STREQ(attn["kind"].GetString(), "tensor");
    EXPECT_STREQ(attn["dtype"].GetString(), "F32");
    EXPECT_EQ(attn["shape"][0].GetInt64(), 64);
    EXPECT_EQ(attn["shape"][1].GetInt64(), 192);
    EXPECT_EQ(attn["bytes"].GetUint64(), 49152u);
    EXPECT_FALSE(attn.HasMember("tied_to"));
    const auto& head = *entries.at("lm_head.weight");
    EXPECT_STREQ(head["tied_to"].GetString(), "transformer.wte.weight");
    EXPECT_EQ(head["bytes"].GetUint64(), 32768u);
    // Arrays stay on one line, so the output is still easy to grep.
    EXPECT_NE(r.out.find("\"shape\": [64, 192]"), std::string::npos) << r.out;
    auto sharded = cli({"inspect", data_path("hf/llama/sharded-safetensors/model.safetensors.index.json").string(),
                        "--json"});
    EXPECT_NE(sharded.out.find("\"shard\": \"model-00001-of-00003.safetensors\""), std::string::npos) << sharded.out;
}

TEST(CliInspect, BadInputsFailClearlyWithExitCode4)
{
    TempDir dir;
    ckpt::test::write_file(dir / "notes.txt", "hello, not a checkpoint");
    ckpt::test::write_file(dir / "empty.bin", "");
    fs::create_directories(dir / "folder");
    ckpt::test::write_file(dir / "folder" / "notes.txt", "a folder is read as a model folder");
    struct Case {
        fs::path path;
        std::string message;
    } cases[] = {
        {dir / "missing.bin", "missing.bin: no such file"},
        {dir / "folder", "folder: the folder holds no checkpoint"},
        {dir / "notes.txt", "notes.txt: not a checkpoint ckptconv can read"},
        {dir / "empty.bin", "empty.bin: the file is empty"},
    };
    for (const auto& c : cases) {
        auto r = cli({"inspect", c.path.string()});
        EXPECT_EQ(r.exit_code, 4) << c.path;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(r.signal, 0);
    }
}

TEST(CliInspect, PluginContainersAreReadThroughTheirPlugin)
{
    TempDir dir;
    std::string toy = "CKPTTOY1\nw 2 2 2 1\nv 14 1 3\n---\n";
    toy += std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8) + "abc";
    ckpt::test::write_file(dir / "x.toy", toy);
    auto r = cli({"inspect", (dir / "x.toy").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Format:  ckpttoy"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("w     F32    [2, 1]  8 bytes"), std::string::npos) << r.out;
    // Without the plugin the file is not recognised.
    auto bare = run_cli({"inspect", (dir / "x.toy").string()}, {"CKPT_PLUGIN_DEFAULT_DIR="});
    EXPECT_EQ(bare.exit_code, 4);
}

TEST(CliDiff, SameAndDifferentAcrossContainers)
{
    auto same = cli({"diff", data_path("hf/llama/bin/pytorch_model.bin").string(),
                     data_path("hf/llama/sharded-safetensors/model.safetensors.index.json").string()});
    EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
    EXPECT_NE(same.out.find("Checkpoints are the same"), std::string::npos);
    // transformers drops the tied lm_head from safetensors.
    auto tied = cli({"diff", data_path("hf/gpt2/bin/pytorch_model.bin").string(),
                     data_path("hf/gpt2/safetensors/model.safetensors").string()});
    EXPECT_EQ(tied.exit_code, 1);
    EXPECT_NE(tied.out.find("The following keys are in the left checkpoint but not right:\n['lm_head.weight']"),
              std::string::npos)
        << tied.out;
    auto other = cli({"diff", data_path("hf/llama/bin/pytorch_model.bin").string(),
                      data_path("hf/mistral/bin/pytorch_model.bin").string(), "--json"});
    EXPECT_EQ(other.exit_code, 1);
    EXPECT_NE(other.out.find("elements differ (max abs difference"), std::string::npos) << other.out;
}

TEST(CliDiff, ToleranceAppliesToFloatValues)
{
    TempDir dir;
    // Two one-tensor safetensors files whose only float differs by 0.5.
    auto make = [&](const std::string& name, float v) {
        std::string hdr = "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        while ((hdr.size() % 8) != 0)
            hdr += ' ';
        std::string f(8, '\0');
        uint64_t n = hdr.size();
        std::memcpy(f.data(), &n, 8);
        f += hdr;
        f.append(reinterpret_cast<const char*>(&v), 4);
        ckpt::test::write_file(dir / name, f);
    };
    make("a.safetensors", 1.0f);
    make("b.safetensors", 1.5f);
    EXPECT_EQ(cli({"diff", (dir / "a.safetensors").string(), (dir / "b.safetensors").string()}).exit_code, 1);
    EXPECT_EQ(cli({"diff", (dir / "a.safetensors").string(), (dir / "b.safetensors").string(), "--atol", "0.6"}).exit_code,
              0);
    EXPECT_EQ(cli({"diff", (dir / "a.safetensors").string(), (dir / "b.safetensors").string(), "--atol", "0.4"}).exit_code,
              1);
}

TEST(CliRepack, BinToSafetensorsIsByteIdenticalToTransformers)
{
    for (const char* fam : kFixtureFamilies) {
        TempDir dir;
        auto out = dir / "model.safetensors";
        auto r = cli({"repack", data_path(std::string("hf/") + fam + "/bin/pytorch_model.bin").string(), out.string()});
        ASSERT_EQ(r.exit_code, 0) << fam << r.err;
        EXPECT_EQ(read_file(out), read_file(data_path(std::string("hf/") + fam + "/safetensors/model.safetensors")))
            << fam << ": ckptconv's safetensors differs from transformers'";
    }
}

TEST(CliRepack, ShardedAndBackWithTiesIntact)
{
    TempDir dir;
    auto src = data_path("hf/gpt2/bin/pytorch_model.bin").string();
    auto sharded = cli({"repack", src, (dir / "shards").string(), "--shard-size", "100KB"});
    ASSERT_EQ(sharded.exit_code, 0) << sharded.err;
    EXPECT_TRUE(fs::exists(dir / "shards" / "pytorch_model.bin.index.json"));
    auto diff = cli({"diff", src, (dir / "shards" / "pytorch_model.bin.index.json").string()});
    EXPECT_EQ(diff.exit_code, 0) << diff.out;
    // In one shard the tie survives (in 100KB shards wte and lm_head land in different files).
    auto big = cli({"repack", src, (dir / "big").string(), "--shard-size", "1GB"});
    ASSERT_EQ(big.exit_code, 0) << big.err;
    auto back = cli({"repack", (dir / "big" / "pytorch_model.bin.index.json").string(), (dir / "one.bin").string()});
    ASSERT_EQ(back.exit_code, 0) << back.err;
    auto again = cli({"inspect", (dir / "one.bin").string(), "--json"});
    EXPECT_NE(again.out.find("\"tied_to\": \"transformer.wte.weight\""), std::string::npos) << again.out;
    // The input is refused as its own output, and an existing output needs --force.
    EXPECT_EQ(cli({"repack", (dir / "one.bin").string(), (dir / "one.bin").string()}).exit_code, 2);
    EXPECT_EQ(cli({"repack", src, (dir / "one.bin").string()}).exit_code, 4);
    EXPECT_EQ(cli({"repack", src, (dir / "one.bin").string(), "--force"}).exit_code, 0);
}
