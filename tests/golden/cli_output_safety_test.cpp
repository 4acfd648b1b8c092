// SPDX-License-Identifier: Apache-2.0
// The real CLI on the `null` fixture family: --force never deletes an input or a file it did not
// write, SIGINT/SIGTERM remove partial output, and a later run removes stale partial output.
#include "dead_pid.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using ckpt::test::list_tree;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::RunResult;
using ckpt::test::TempDir;
using ckpt::test::write_file;

namespace {

RunResult ckptconv(std::vector<std::string> args)
{
    args.push_back("--plugin-dir");
    args.push_back(CKPTCONV_FIXTURE_PLUGIN_DIR);
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR="});
}

RunResult convert(const fs::path& ckpt, const std::string& src, const std::string& tgt, const fs::path& config,
                  std::vector<std::string> extra = {})
{
    std::vector<std::string> a{"convert", ckpt.string(), "--model", "null", "--src-fmt", src, "--tgt-fmt", tgt,
                               "--config", config.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return ckptconv(a);
}

void copy_toy(const fs::path& dir)
{
    for (const auto& f : fs::directory_iterator(ckpt::test::data_path("toy")))
        fs::copy_file(f.path(), dir / f.path().filename());
}

bool has_partial(const fs::path& dir)
{
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().find(".ckptconv-partial-") != std::string::npos)
            return true;
    return false;
}

/// A safetensors file with one F32 tensor `a.proj.weight` of [rows, 2] (transposed by the toy
/// converter, so writing it takes a while).
void write_big_safetensors(const fs::path& file, int64_t rows)
{
    const uint64_t bytes = static_cast<uint64_t>(rows) * 2 * 4;
    std::string header = "{\"a.proj.weight\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(rows) +
                         ",2],\"data_offsets\":[0," + std::to_string(bytes) + "]}}";
    while (header.size() % 8)
        header += ' ';
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    out += header;
    out.append(bytes, '\x01');
    write_file(file, out);
}

/// Converts the toy checkpoint to cs-2.1 and moves the .mdl into the folder its CS -> HF output
/// will be named after (`model_to_cs-2.1_to_hf`), which it returns.
fs::path cs_checkpoint_in_its_output_folder(const fs::path& dir)
{
    copy_toy(dir);
    EXPECT_EQ(convert(dir / "model.safetensors", "hf", "cs-2.1", dir / "config.json").exit_code, 0);
    const fs::path folder = dir / "model_to_cs-2.1_to_hf";
    fs::create_directory(folder);
    fs::rename(dir / "model_to_cs-2.1.mdl", folder / "model_to_cs-2.1.mdl");
    return folder;
}

} // namespace

TEST(OutputSafety, ForceIntoTheInputsFolderKeepsTheInputsAndTheUsersFiles)
{
    TempDir dir;
    // The CS checkpoint and its config sit in the very folder the CS -> HF output is named.
    const fs::path folder = cs_checkpoint_in_its_output_folder(dir.path());
    fs::rename(dir / "config_to_cs-2.1.yaml", folder / "config_to_cs-2.1.yaml");
    write_file(folder / "tokenizer.json", "{\"user\": true}");
    const std::string mdl = read_file(folder / "model_to_cs-2.1.mdl");
    const std::string yaml = read_file(folder / "config_to_cs-2.1.yaml");
    auto r = convert(folder / "model_to_cs-2.1.mdl", "cs-2.1", "hf", folder / "config_to_cs-2.1.yaml",
                     {"--output-dir", dir.path().string(), "--force"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(folder / "model_to_cs-2.1.mdl"), mdl);
    EXPECT_EQ(read_file(folder / "config_to_cs-2.1.yaml"), yaml);
    EXPECT_EQ(read_file(folder / "tokenizer.json"), "{\"user\": true}");
    EXPECT_TRUE(fs::exists(folder / "config.json"));
    EXPECT_TRUE(fs::exists(folder / "pytorch_model.bin.index.json"));
    EXPECT_FALSE(has_partial(dir.path()));
}

TEST(OutputSafety, ForceRefusesToReplaceAnInputNamedLikeAnOutput)
{
    TempDir dir;
    const fs::path folder = cs_checkpoint_in_its_output_folder(dir.path());
    // The CS config, in JSON, under the very name the HF output's config gets.
    write_file(folder / "config.json", "{\"model\": {\"b_size\": 2, \"mode\": \"plain\"}}");
    const std::string cfg = read_file(folder / "config.json");
    auto r = convert(folder / "model_to_cs-2.1.mdl", "cs-2.1", "hf", folder / "config.json",
                     {"--output-dir", dir.path().string(), "--force"});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("would replace an input file"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(folder / "config.json"), cfg);
    EXPECT_FALSE(fs::exists(folder / "pytorch_model.bin.index.json"));
    EXPECT_FALSE(has_partial(dir.path()));
}

TEST(OutputSafety, ForceReplacesWhatItWritesAndKeepsEverythingElse)
{
    TempDir dir;
    copy_toy(dir.path());
    ASSERT_EQ(convert(dir / "model.safetensors", "hf", "cs-2.1", dir / "config.json").exit_code, 0);
    const fs::path out = dir / "model_to_cs-2.1_to_hf";
    fs::create_directory(out);
    write_file(out / "tokenizer.json", "mine");
    write_file(out / "pytorch_model.bin.index.json", "stale");
    auto r = convert(dir / "model_to_cs-2.1.mdl", "cs-2.1", "hf", dir / "config_to_cs-2.1.yaml", {"--force"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(out / "tokenizer.json"), "mine");
    EXPECT_NE(read_file(out / "pytorch_model.bin.index.json"), "stale");
    EXPECT_TRUE(fs::exists(out / "config.json"));
    // Without --force the existing folder is refused, and nothing in it changes.
    const auto before = list_tree(dir.path());
    const std::string index = read_file(out / "pytorch_model.bin.index.json");
    auto again = convert(dir / "model_to_cs-2.1.mdl", "cs-2.1", "hf", dir / "config_to_cs-2.1.yaml");
    EXPECT_EQ(again.exit_code, 4);
    EXPECT_EQ(list_tree(dir.path()), before);
    EXPECT_EQ(read_file(out / "pytorch_model.bin.index.json"), index);
}

TEST(OutputSafety, ANewRunRemovesStalePartialOutputOfDeadRunsOnly)
{
    TempDir dir;
    copy_toy(dir.path());
    const pid_t dead = ckpt::test::dead_pid();
    const std::string stale = ".model_to_cs-2.1.mdl.ckptconv-partial-" + std::to_string(dead) + "-0123456789ab";
    const std::string live = ".model_to_cs-2.1.mdl.ckptconv-partial-" + std::to_string(::getpid()) + "-0123456789ab";
    write_file(dir / stale, "left by kill -9");
    write_file(dir / live, "a run still going");
    write_file(dir / ".notes.ckptconv-partial-mine", "not ours");
    auto r = convert(dir / "model.safetensors", "hf", "cs-2.1", dir / "config.json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::exists(dir / stale));
    EXPECT_TRUE(fs::exists(dir / live));
    EXPECT_TRUE(fs::exists(dir / ".notes.ckptconv-partial-mine"));
}

class Interrupt : public ::testing::TestWithParam<int> {};

TEST_P(Interrupt, RemovesPartialOutputAndSaysInterrupted)
{
    const int sig = GetParam();
    TempDir dir;
    copy_toy(dir.path());
    write_big_safetensors(dir / "big.safetensors", int64_t{16} << 20); // 128 MiB
    const std::string input = read_file(dir / "big.safetensors");
    RunResult r;
    std::thread run([&] { r = convert(dir / "big.safetensors", "hf", "cs-2.1", dir / "config.json"); });
    // The partial name carries the converting process's pid: signal that process.
    pid_t pid = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pid == 0 && std::chrono::steady_clock::now() < deadline) {
        for (const auto& e : fs::directory_iterator(dir.path())) {
            const std::string name = e.path().filename().string();
            const size_t at = name.find(".ckptconv-partial-");
            if (at != std::string::npos)
                pid = static_cast<pid_t>(std::stol(name.substr(at + 18)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_NE(pid, 0) << "no partial output appeared";
    ::kill(pid, sig);
    run.join();
    EXPECT_EQ(r.exit_code, 128 + sig) << r.err;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
    EXPECT_FALSE(has_partial(dir.path()));
    EXPECT_FALSE(fs::exists(dir / "big_to_cs-2.1.mdl"));
    EXPECT_FALSE(fs::exists(dir / "config_to_cs-2.1.yaml"));
    EXPECT_TRUE(read_file(dir / "big.safetensors") == input);
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupt, ::testing::Values(SIGINT, SIGTERM));
