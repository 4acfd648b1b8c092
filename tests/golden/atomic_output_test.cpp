// SPDX-License-Identifier: Apache-2.0
// AtomicOutput's commit semantics: no-replace without --force (a name taken while the work ran
// is never overwritten), per-file replacement with it, inputs never replaced, and the partial
// names that let a later run recognise stale ones.
#include "dead_pid.hpp"
#include "test_support.hpp"

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/partial_outputs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

namespace fs = std::filesystem;
using ckpt::AtomicOutput;
using ckpt::test::dead_pid;
using ckpt::test::read_file;
using ckpt::test::TempDir;
using ckpt::test::write_file;

namespace {

std::vector<std::string> partials(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".ckptconv-partial-") != std::string::npos)
            out.push_back(e.path().filename().string());
    return out;
}

} // namespace

TEST(AtomicOutput, CommitRefusesAFileCreatedWhileTheWorkRan)
{
    TempDir dir;
    const fs::path target = dir / "out.mdl";
    AtomicOutput out(target, AtomicOutput::Type::file);
    write_file(out.path(), "ours");
    write_file(target, "theirs"); // another run commits first
    try {
        out.commit();
        FAIL() << "commit replaced a file another process created";
    } catch (const ckpt::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("already exists (another process created it"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(read_file(target), "theirs");
}

TEST(AtomicOutput, CommitRefusesAFolderCreatedWhileTheWorkRan)
{
    TempDir dir;
    const fs::path target = dir / "model_to_hf";
    {
        AtomicOutput out(target, AtomicOutput::Type::directory);
        write_file(out.path() / "config.json", "ours");
        fs::create_directory(target);
        write_file(target / "config.json", "theirs");
        EXPECT_THROW(out.commit(), ckpt::InputError);
    }
    EXPECT_EQ(read_file(target / "config.json"), "theirs");
    EXPECT_TRUE(partials(dir.path()).empty()); // the uncommitted temporary is gone
}

TEST(AtomicOutput, ForceReplacesOnlyTheFilesWritten)
{
    TempDir dir;
    const fs::path target = dir / "model_to_hf";
    fs::create_directory(target);
    write_file(target / "tokenizer.json", "user's");
    write_file(target / "config.json", "old");
    AtomicOutput out(target, AtomicOutput::Type::directory, true);
    write_file(out.path() / "config.json", "new");
    out.commit();
    EXPECT_EQ(read_file(target / "tokenizer.json"), "user's");
    EXPECT_EQ(read_file(target / "config.json"), "new");
    EXPECT_TRUE(partials(dir.path()).empty());
}

TEST(AtomicOutput, ForceNeverReplacesAProtectedInput)
{
    TempDir dir;
    const fs::path target = dir / "model_to_hf";
    fs::create_directory(target);
    write_file(target / "config.json", "the input");
    {
        AtomicOutput out(target, AtomicOutput::Type::directory, true);
        out.protect({target / "config.json"});
        write_file(out.path() / "config.json", "output");
        EXPECT_THROW(out.commit(), ckpt::InputError);
    }
    EXPECT_EQ(read_file(target / "config.json"), "the input");
    AtomicOutput file(target / "config.json", AtomicOutput::Type::file, true);
    file.protect({target / "config.json"});
    write_file(file.path(), "output");
    EXPECT_THROW(file.commit(), ckpt::InputError);
    EXPECT_EQ(read_file(target / "config.json"), "the input");
}

TEST(AtomicOutput, PartialNamesCarryThePidAndStaleOnesAreRemoved)
{
    TempDir dir;
    const fs::path mine = ckpt::partial_output_name(dir / "a.mdl");
    EXPECT_NE(mine.filename().string().find(".a.mdl.ckptconv-partial-" + std::to_string(::getpid()) + "-"),
              std::string::npos)
        << mine;
    const std::string stale = ".a.mdl.ckptconv-partial-" + std::to_string(dead_pid()) + "-0123456789ab";
    const std::string live = ".b.mdl.ckptconv-partial-" + std::to_string(::getppid()) + "-0123456789ab";
    const std::string other = ".c.mdl.ckptconv-partial-notours";
    for (const auto& n : {stale, live, other})
        write_file(dir / n, "x");
    const std::string stale_dir = ".d.ckptconv-partial-" + std::to_string(dead_pid()) + "-00000000abcd";
    fs::create_directory(dir / stale_dir);
    write_file(dir / stale_dir / "pytorch_model.bin", "x");
    EXPECT_EQ(ckpt::remove_stale_partial_outputs(dir.path()), 2);
    EXPECT_FALSE(fs::exists(dir / stale));
    EXPECT_FALSE(fs::exists(dir / stale_dir));
    EXPECT_TRUE(fs::exists(dir / live));
    EXPECT_TRUE(fs::exists(dir / other));
}
