// SPDX-License-Identifier: Apache-2.0
// Private formats end to end with the plugin guide's example (acme-1, tests/package/plugin):
// both directions bit-exact, paths through hf, list, dry run, output names and refusals; the
// frozen-ABI-1.0 fixture converting through ops and a kernel; plugin failures exiting 3.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::list_tree;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::TempDir;

namespace {

class PrivateFormat : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const char* f : {"model.safetensors", "config.json"})
            fs::copy_file(ckpt::test::data_path("toy") / f, dir / f);
    }

    /// The CLI with only the example plugin (and `extra_dir`, when given) loaded.
    ckpt::test::RunResult ckptconv(std::vector<std::string> args, const std::string& extra_dir = "")
    {
        args.insert(args.end(), {"--plugin-dir", CKPTCONV_EXAMPLE_PLUGIN_DIR});
        if (!extra_dir.empty())
            args.insert(args.end(), {"--plugin-dir", extra_dir});
        return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
    }

    ckpt::test::RunResult convert(const std::string& ckpt, const std::string& src, const std::string& tgt,
                                  const std::string& config, std::vector<std::string> extra = {})
    {
        std::vector<std::string> a{"convert", (dir / ckpt).string(), "--model", "acme", "--src-fmt", src,
                                   "--tgt-fmt", tgt, "--config", (dir / config).string(), "--no-progress-bar"};
        a.insert(a.end(), extra.begin(), extra.end());
        return ckptconv(a);
    }

    TempDir dir;
};

} // namespace

TEST_F(PrivateFormat, HfToAcmeAndBackIsBitExact)
{
    auto to = convert("model.safetensors", "hf", "acme-1", "config.json");
    ASSERT_EQ(to.exit_code, 0) << to.err;
    EXPECT_EQ(to.out, "Checkpoint saved to " + (dir / "model_to_acme-1").string() + "\nConfig saved to " +
                          (dir / "config_to_acme-1.json").string() + "\n");
    EXPECT_EQ(read_file(dir / "config_to_acme-1.json"),
              "{\n    \"a_size\": 2,\n    \"mode\": \"plain\",\n    \"dropped_key\": 1,\n    \"acme_format\": 1\n}");
    // Read back through the plugin's reader: 2-D weights are stored transposed.
    auto inspect = ckptconv({"inspect", (dir / "model_to_acme-1").string()});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_NE(inspect.out.find("a.proj.weight  F32    [2, 3]"), std::string::npos) << inspect.out;

    auto back = convert("model_to_acme-1", "acme-1", "hf", "config_to_acme-1.json", {"--export-safetensors"});
    ASSERT_EQ(back.exit_code, 0) << back.err;
    const fs::path out = dir / "model_to_acme-1_to_hf";
    auto diff = ckptconv({"diff", (dir / "model.safetensors").string(), (out / "model.safetensors.index.json").string()});
    EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
    EXPECT_EQ(read_file(out / "config.json").find("acme_format"), std::string::npos);
}

TEST_F(PrivateFormat, PathsGoThroughHfToAndFromCerebrasReleases)
{
    ASSERT_EQ(convert("model.safetensors", "hf", "acme-1", "config.json").exit_code, 0);
    ASSERT_EQ(convert("model.safetensors", "hf", "cs-2.3", "config.json").exit_code, 0);
    fs::create_directory(dir / "via");
    auto via = convert("model_to_cs-2.3.mdl", "cs-2.3", "acme-1", "config_to_cs-2.3.yaml",
                       {"--output-dir", (dir / "via").string()});
    ASSERT_EQ(via.exit_code, 0) << via.err;
    EXPECT_NE(via.err.find("Conversion path: cs-2.3 -> hf (model converter), hf -> acme-1 (model converter)"),
              std::string::npos)
        << via.err;
    auto same = ckptconv({"diff", (dir / "model_to_acme-1").string(), (dir / "via" / "model_to_cs-2.3_to_acme-1").string()});
    EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
    // And from the private format to a Cerebras release.
    auto up = convert("model_to_acme-1", "acme-1", "cs-2.2", "config_to_acme-1.json");
    ASSERT_EQ(up.exit_code, 0) << up.err;
    EXPECT_TRUE(fs::exists(dir / "model_to_acme-1_to_cs-2.2.mdl"));
    EXPECT_TRUE(fs::exists(dir / "config_to_acme-1_to_cs-2.2.yaml"));
}

TEST_F(PrivateFormat, ListAndDryRunShowThePrivateFormat)
{
    auto list = ckptconv({"list", "acme-lm", "--hide-notes"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("acme-1"), std::string::npos) << list.out;
    auto dry = convert("model.safetensors", "hf", "acme-1", "config.json", {"--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_NE(dry.out.find("a.proj.weight F32[2, 3] = transpose(a.proj.weight)"), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("Would write " + (dir / "model_to_acme-1").string() + " and " +
                           (dir / "config_to_acme-1.json").string()),
              std::string::npos)
        << dry.out;
    EXPECT_EQ(list_tree(dir.path()), (std::vector<std::string>{"config.json", "model.safetensors"}));
}

TEST_F(PrivateFormat, RefusalsAreClearAndLeaveNothingBehind)
{
    auto unknown = convert("model.safetensors", "hf", "acme-2", "config.json");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("--tgt-fmt acme-2: expected hf or cs-X.Y (or cs-current) or a plugin's format (acme-1)"),
              std::string::npos)
        << unknown.err;
    // A safetensors file is not an acme-1 checkpoint.
    auto wrong = convert("model.safetensors", "acme-1", "hf", "config.json");
    EXPECT_EQ(wrong.exit_code, 4);
    EXPECT_NE(wrong.err.find("--src-fmt acme-1 but this is not a acme-1 checkpoint (it reads as safetensors)"),
              std::string::npos)
        << wrong.err;
    ASSERT_EQ(convert("model.safetensors", "hf", "acme-1", "config.json").exit_code, 0);
    // The output exists: refused without --force, untouched.
    const std::string before = read_file(dir / "model_to_acme-1");
    auto again = convert("model.safetensors", "hf", "acme-1", "config.json");
    EXPECT_EQ(again.exit_code, 4);
    EXPECT_EQ(read_file(dir / "model_to_acme-1"), before);
    EXPECT_EQ(list_tree(dir.path()), (std::vector<std::string>{"config.json", "config_to_acme-1.json",
                                                                "model.safetensors", "model_to_acme-1"}));
}

TEST_F(PrivateFormat, AFormatNameTakenByAnotherPluginIsRejectedAtLoad)
{
    TempDir second;
    fs::copy_file(fs::path(CKPTCONV_EXAMPLE_PLUGIN_DIR) / "ckptconv_acme.so", second / "ckptconv_acme2.so");
    auto r = ckptconv({"plugins"}, second.path().string());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("rejected  " + (second / "ckptconv_acme2.so").string() +
                         "\n            format 'acme-1' is already registered by"),
              std::string::npos)
        << r.out;
}

TEST(Abi10Plugin, ConvertsThroughOpsAndAKernelBothWaysBitExact)
{
    TempDir dir;
    for (const char* f : {"model.safetensors", "config.json"})
        fs::copy_file(ckpt::test::data_path("toy") / f, dir / f);
    auto cli = [&](std::vector<std::string> args) {
        args.insert(args.end(), {"--plugin-dir", CKPTCONV_ABI10_PLUGIN_DIR});
        return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
    };
    auto plugins = cli({"plugins"});
    EXPECT_NE(plugins.out.find("abi10 1.0 (ABI 1.0): built from the frozen ABI 1.0 headers"), std::string::npos)
        << plugins.out;
    auto to = cli({"convert", (dir / "model.safetensors").string(), "--model", "abi10-alias", "--src-fmt", "hf",
                   "--tgt-fmt", "cs-2.1", "--config", (dir / "config.json").string()});
    ASSERT_EQ(to.exit_code, 0) << to.err;
    auto inspect = cli({"inspect", (dir / "model_to_cs-2.1.mdl").string(), "--json"});
    EXPECT_NE(inspect.out.find("model.v.proj.weight"), std::string::npos) << inspect.out;
    auto back = cli({"convert", (dir / "model_to_cs-2.1.mdl").string(), "--model", "abi10", "--src-fmt", "cs-2.1",
                     "--tgt-fmt", "hf", "--config", (dir / "config_to_cs-2.1.yaml").string(), "--export-safetensors"});
    ASSERT_EQ(back.exit_code, 0) << back.err;
    // The kernel negated the bias and negated it back; the HF-only a.scratch was dropped.
    auto diff = cli({"diff", (dir / "model.safetensors").string(),
                     (dir / "model_to_cs-2.1_to_hf" / "model.safetensors.index.json").string(), "--json"});
    EXPECT_EQ(diff.out, "{\n  \"same\": false,\n  \"only_left\": [\"a.scratch\"],\n  \"only_right\": [],\n  "
                        "\"differences\": []\n}\n");
}

TEST(PluginExitCodes, AModelOfAKnownFamilyWithoutItsPluginNamesThePackage)
{
    TempDir dir;
    // No plugin at all: llama is known from the build's share/ckptconv/known-models.tsv.
    auto r = run_cli({"convert", (dir / "x.safetensors").string(), "--model", "LLaMA", "--src-fmt", "hf", "--tgt-fmt",
                      "cs-2.3", "--config", (dir / "config.json").string()},
                     {"CKPT_PLUGIN_DEFAULT_DIR="});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("The model LLaMA is provided by the llama plugin, which is not installed"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("Install the package ckptconv-plugin-llama"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--component plugin_llama"), std::string::npos) << r.err;
    // A name no family provides is "not supported", a usage error (exit 2) with a suggestion.
    auto other = run_cli({"convert-config", (dir / "config.json").string(), "--model", "no-such-model", "--src-fmt",
                          "hf", "--tgt-fmt", "cs-2.3"},
                         {"CKPT_PLUGIN_DEFAULT_DIR="});
    EXPECT_EQ(other.exit_code, 2) << other.err;
    EXPECT_NE(other.err.find("The model no-such-model is not supported"), std::string::npos) << other.err;
}
