// SPDX-License-Identifier: Apache-2.0
// `convert` and `convert-config` end to end with the `null` fixture family: every path kind
// (one edge, chained edges, generic release steps, cs-auto), output names and messages, dry run,
// and every failure mode leaving nothing behind.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::list_tree;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::TempDir;

namespace {

class Convert : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const auto& f : fs::directory_iterator(ckpt::test::data_path("toy")))
            fs::copy_file(f.path(), dir / f.path().filename().string());
    }

    ckpt::test::RunResult ckptconv(std::vector<std::string> args)
    {
        args.push_back("--plugin-dir");
        args.push_back(CKPTCONV_FIXTURE_PLUGIN_DIR);
        return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
    }

    ckpt::test::RunResult convert(const std::string& ckpt, const std::string& src, const std::string& tgt,
                                  const std::string& config, std::vector<std::string> extra = {})
    {
        std::vector<std::string> a{"convert", (dir / ckpt).string(), "--model", "null", "--src-fmt", src,
                                   "--tgt-fmt", tgt, "--config", (dir / config).string()};
        a.insert(a.end(), extra.begin(), extra.end());
        return ckptconv(a);
    }

    TempDir dir;
};

} // namespace

TEST_F(Convert, HfToCsWritesTheModelZooNamesAndMessages)
{
    auto r = convert("model.safetensors", "hf", "cs-2.2", "config.json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Checkpoint saved to " + (dir / "model_to_cs-2.2.mdl").string() + "\nConfig saved to " +
                         (dir / "config_to_cs-2.2.yaml").string() + "\n");
    // mixed_precision is the Model Zoo's generic post-default for HF -> cs-2.1 .. cs-2.3.
    EXPECT_EQ(read_file(dir / "config_to_cs-2.2.yaml"), "model:\n    b_size: 2\n    mixed_precision: true\n    mode: plain\n");
    auto inspect = ckptconv({"inspect", (dir / "model_to_cs-2.2.mdl").string()});
    EXPECT_NE(inspect.out.find("model.b.proj.weight  F32    [2, 3]"), std::string::npos) << inspect.out;
    EXPECT_EQ(inspect.out.find("scratch"), std::string::npos);
}

TEST_F(Convert, RoundTripGivesBackEveryTensorBitForBit)
{
    ASSERT_EQ(convert("model.safetensors", "hf", "cs-2.1", "config.json").exit_code, 0);
    auto back = convert("model_to_cs-2.1.mdl", "cs-2.1", "hf", "config_to_cs-2.1.yaml", {"--export-safetensors"});
    ASSERT_EQ(back.exit_code, 0) << back.err;
    const fs::path out = dir / "model_to_cs-2.1_to_hf";
    EXPECT_EQ(list_tree(out), (std::vector<std::string>{"config.json", "model-00001-of-00001.safetensors",
                                                         "model.safetensors.index.json"}));
    // torch_dtype is the dtype most written bytes have (design.md §5).
    EXPECT_EQ(read_file(out / "config.json"),
              "{\n    \"a_size\": 2,\n    \"mode\": \"plain\",\n    \"torch_dtype\": \"float32\"\n}");
    // Everything but the HF-only key the toy converter drops comes back identical.
    auto diff = ckptconv({"diff", (dir / "model.safetensors").string(), (out / "model.safetensors.index.json").string(),
                          "--json"});
    EXPECT_EQ(diff.exit_code, 1);
    EXPECT_EQ(diff.out, "{\n  \"same\": false,\n  \"only_left\": [\"a.scratch\"],\n  \"only_right\": [],\n  \"differences\": []\n}\n");
}

TEST_F(Convert, ChainsModelEdgesAndGenericStepsInOneCommand)
{
    // hf -> cs-2.1 -> cs-2.0: two model converters.
    auto down = convert("model.safetensors", "hf", "cs-2.0", "config.json");
    ASSERT_EQ(down.exit_code, 0) << down.err;
    EXPECT_NE(down.err.find("Conversion path: hf -> cs-2.1 (model converter), cs-2.1 -> cs-2.0 (model converter)"),
              std::string::npos)
        << down.err;
    EXPECT_EQ(read_file(dir / "config_to_cs-2.0.yaml"), "model:\n    c_size: 2\n    mixed_precision: true\n    mode: plain\n");
    // cs-2.0 -> cs-current: a model step then generic release steps, with metadata per step.
    auto up = convert("model_to_cs-2.0.mdl", "cs-2.0", "cs-current", "config_to_cs-2.0.yaml");
    ASSERT_EQ(up.exit_code, 0) << up.err;
    EXPECT_NE(up.err.find("WARNING Checkpoint does not require changes between cs-2.1 and cs-2.9. Only updating "
                          "checkpoint metadata and config."),
              std::string::npos)
        << up.err;
    auto inspect = ckptconv({"inspect", (dir / "model_to_cs-2.0_to_cs-2.9.mdl").string(), "--json"});
    EXPECT_NE(inspect.out.find("\"name\": \"__metadata__.8.version\",\n      \"kind\": \"string\",\n      \"value\": "
                               "\"'2.9.0'\""),
              std::string::npos)
        << inspect.out;
    // cs-auto finds cs-2.9 in that metadata; back to hf equals the original tensors.
    auto back = convert("model_to_cs-2.0_to_cs-2.9.mdl", "cs-auto", "hf", "config_to_cs-2.0_to_cs-2.9.yaml");
    ASSERT_EQ(back.exit_code, 0) << back.err;
    EXPECT_NE(back.err.find("Detected source format cs-2.9"), std::string::npos);
    auto diff = ckptconv({"diff", (dir / "model.safetensors").string(),
                          (dir / "model_to_cs-2.0_to_cs-2.9_to_hf" / "pytorch_model.bin.index.json").string(), "--json"});
    EXPECT_EQ(diff.out, "{\n  \"same\": false,\n  \"only_left\": [\"a.scratch\"],\n  \"only_right\": [],\n  \"differences\": []\n}\n");
}

TEST_F(Convert, CsAutoFallsBackToTheCstorchVersionAndSaysSo)
{
    // HF -> CS output has no __metadata__ (as the Model Zoo's); cs-auto uses the file attribute.
    ASSERT_EQ(convert("model.safetensors", "hf", "cs-2.2", "config.json").exit_code, 0);
    auto r = convert("model_to_cs-2.2.mdl", "cs-auto", "hf", "config_to_cs-2.2.yaml");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("__cstorch_version__"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Detected source format cs-2.2"), std::string::npos) << r.err;
}

TEST_F(Convert, DryRunPrintsThePlanAndWritesNothing)
{
    auto before = list_tree(dir.path());
    auto r = convert("model.safetensors", "hf", "cs-2.0", "config.json", {"--dry-run"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(list_tree(dir.path()), before);
    EXPECT_NE(r.out.find("Step 1: hf -> cs-2.1\nb.proj.weight F32[2, 3] = transpose(a.proj.weight)\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("c.emb.weight BF16[2, 4] = b.emb.weight"), std::string::npos) << r.out;
}

TEST_F(Convert, DebugPrintsEveryMatch)
{
    auto r = convert("model.safetensors", "hf", "cs-2.1", "config.json", {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("Matched a_size -> b_size action: replaceKey"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Matched a.proj.weight -> b.proj.weight action: toy"), std::string::npos) << r.err;
}

TEST_F(Convert, UnmatchedKeysFailUnlessDropped)
{
    auto before = list_tree(dir.path());
    auto r = convert("unmatched.safetensors", "hf", "cs-2.1", "config.json");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("WARNING Key not matched: z.extra"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Unable to match all keys. If you want to proceed by dropping keys that couldn't matched, "
                         "rerun with --drop-unmatched-keys"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(list_tree(dir.path()), before);
    auto dropped = convert("unmatched.safetensors", "hf", "cs-2.1", "config.json", {"--drop-unmatched-keys"});
    EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
    EXPECT_NE(dropped.err.find("proceeding even though some keys weren't matched because of --drop-unmatched-keys"),
              std::string::npos)
        << dropped.err;
}

TEST_F(Convert, ConfigConversionErrorIsReportedAndNothingWritten)
{
    auto before = list_tree(dir.path());
    auto r = convert("model.safetensors", "hf", "cs-2.1", "config_fancy.json");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("ConfigConversionError: Can't convert config with mode=fancy. Only plain is supported."),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("Conversion failed."), std::string::npos);
    EXPECT_EQ(list_tree(dir.path()), before);
}

TEST_F(Convert, ExistingOutputIsRefusedUnlessForced)
{
    ASSERT_EQ(convert("model.safetensors", "hf", "cs-2.1", "config.json").exit_code, 0);
    auto again = convert("model.safetensors", "hf", "cs-2.1", "config.json");
    EXPECT_EQ(again.exit_code, 4);
    EXPECT_NE(again.err.find("model_to_cs-2.1.mdl: already exists; remove it or pass --force"), std::string::npos)
        << again.err;
    EXPECT_EQ(convert("model.safetensors", "hf", "cs-2.1", "config.json", {"--force"}).exit_code, 0);
}

TEST_F(Convert, UnknownModelAndImpossiblePairsSayWhatIsPossible)
{
    auto unknown = ckptconv({"convert", (dir / "model.safetensors").string(), "--model", "gpt5", "--src-fmt", "hf",
                             "--tgt-fmt", "cs-2.1", "--config", (dir / "config.json").string()});
    EXPECT_EQ(unknown.exit_code, 2); // a usage error (issue 18), with the Model Zoo's sentence
    EXPECT_NE(unknown.err.find("The model gpt5 is not supported."), std::string::npos) << unknown.err;
    auto impossible = ckptconv({"convert", (dir / "model.safetensors").string(), "--model", "null-headless",
                                "--src-fmt", "hf", "--tgt-fmt", "cs-2.0", "--config", (dir / "config.json").string()});
    EXPECT_EQ(impossible.exit_code, 1);
    EXPECT_NE(impossible.err.find("Cannot convert null-headless from hf to cs-2.0"), std::string::npos) << impossible.err;
    EXPECT_NE(impossible.err.find("hf <-> cs-2.1, cs-2.2"), std::string::npos) << impossible.err;
    auto bad_fmt = convert("model.safetensors", "hf", "tf", "config.json");
    EXPECT_EQ(bad_fmt.exit_code, 2);
}

TEST_F(Convert, OutputDirIsCreatedAndInputsAreNeverModified)
{
    const std::string original = read_file(dir / "model.safetensors");
    auto r = convert("model.safetensors", "hf", "cs-2.1", "config.json",
                     {"--output-dir", (dir / "out" / "nested").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "out" / "nested" / "model_to_cs-2.1.mdl"));
    EXPECT_TRUE(fs::exists(dir / "out" / "nested" / "config_to_cs-2.1.yaml"));
    EXPECT_EQ(read_file(dir / "model.safetensors"), original);
}

TEST_F(Convert, ConvertConfigBothWays)
{
    auto to_cs = ckptconv({"convert-config", (dir / "config.json").string(), "--model", "null", "--src-fmt", "hf",
                           "--tgt-fmt", "cs-2.2"});
    ASSERT_EQ(to_cs.exit_code, 0) << to_cs.err;
    EXPECT_EQ(to_cs.out, "Config saved to " + (dir / "config_to_cs-2.2.yaml").string() + "\n");
    auto to_hf = ckptconv({"convert-config", (dir / "config_to_cs-2.2.yaml").string(), "--model", "null-alias",
                           "--src-fmt", "cs-2.2", "--tgt-fmt", "hf"});
    ASSERT_EQ(to_hf.exit_code, 0) << to_hf.err;
    EXPECT_EQ(read_file(dir / "config_to_cs-2.2_to_hf.json"),
              "{\n    \"a_size\": 2,\n    \"mode\": \"plain\"\n}");
}

TEST_F(Convert, AFailureWhileWritingLeavesNothingBehind)
{
    // A private-container checkpoint whose second tensor cannot be read: the .mdl is half written
    // when the read fails.
    std::string toy = "CKPTTOY1\na.proj.weight 2 2 2 1\na.failing 2 1 1\n---\n";
    toy += std::string(12, '\x01');
    ckpt::test::write_file(dir / "broken.toy", toy);
    auto before = list_tree(dir.path());
    auto r = convert("broken.toy", "hf", "cs-2.1", "config.json");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.signal, 0);
    EXPECT_NE(r.err.find("a.failing"), std::string::npos) << r.err;
    EXPECT_EQ(list_tree(dir.path()), before);
    auto to_hf = convert("broken.toy", "hf", "cs-2.1", "config.json", {"--dry-run"});
    EXPECT_EQ(to_hf.exit_code, 0) << to_hf.err; // planning reads no tensor data
}
