// SPDX-License-Identifier: Apache-2.0
// `ckptconv list` and `ckptconv plugins` as a user runs them, against golden outputs.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::read_file;
using ckpt::test::run_cli;

namespace {

const std::string kFixtures = CKPTCONV_FIXTURE_PLUGIN_DIR;

std::string golden(const std::string& name) { return read_file(fs::path(CKPTCONV_GOLDEN_DIR) / name); }

std::string replace_all(std::string s, const std::string& from, const std::string& to)
{
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

/// The fixture directory only, so no installed plugin can change the output.
std::vector<std::string> with_fixtures(std::vector<std::string> args)
{
    args.push_back("--plugin-dir");
    args.push_back(kFixtures);
    return args;
}

ckpt::test::RunResult run_isolated(const std::vector<std::string>& args)
{
    return run_cli(with_fixtures(args), {"CKPT_PLUGIN_DEFAULT_DIR="});
}

} // namespace

TEST(CliList, AllModelsAsTheModelZooTable)
{
    auto r = run_isolated({"list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden("list_all.txt"));
}

TEST(CliList, OneModelByAliasWithoutNotes)
{
    auto r = run_isolated({"list", "NULL-ALIAS", "--hide-notes"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden("list_alias_hide_notes.txt"));
}

TEST(CliList, UnknownModelListsTheSupportedOnesAndFails)
{
    auto r = run_isolated({"list", "gpt5"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, golden("list_unknown.txt"));
}

TEST(CliList, JsonOutput)
{
    auto r = run_isolated({"list", "null", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(replace_all(r.out, kFixtures, "<fixtures>"), golden("list_null.json"));
}

TEST(CliList, WarnsAboutRejectedPluginsOnStderr)
{
    auto r = run_isolated({"list", "null"});
    EXPECT_NE(r.err.find("ckptconv_fixture_throws.so rejected: 'ckpt_plugin_entry' threw an exception"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.out.find("WARNING"), std::string::npos); // stdout carries results only
}

TEST(CliPlugins, ShowsLoadedAndRejectedWithReasons)
{
    auto r = run_isolated({"plugins"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = replace_all(r.out, kFixtures, "<fixtures>");
    EXPECT_EQ(out, golden("plugins.txt"));
}

TEST(CliPlugins, DefaultDirectoryIsExeRelativeUnlessOverridden)
{
    auto r = run_cli({"plugins", "--json"}, {});
    std::string prefix = fs::path(CKPTCONV_EXE).parent_path().parent_path().string();
    EXPECT_NE(r.out.find(ckpt::test::json_escape(prefix + "/lib/ckptconv/plugins")), std::string::npos) << r.out;
    auto overridden = run_cli({"plugins", "--json"}, {"CKPT_PLUGIN_DEFAULT_DIR=/nowhere"});
    EXPECT_NE(overridden.out.find("\"search_path\": [\"/nowhere\"]"), std::string::npos) << overridden.out;
}

TEST(CliPlugins, EnvironmentPathIsSearched)
{
    auto r = run_cli({"plugins", "--json"}, {"CKPT_PLUGIN_PATH=" + kFixtures, "CKPT_PLUGIN_DEFAULT_DIR="});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"status\": \"loaded\",\n      \"abi\": \"1.2\",\n      \"name\": \"null\""), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("\"reason\": \"no exported symbol 'ckpt_plugin_entry' (not a ckptconv plugin)\""),
              std::string::npos)
        << r.out;
}

TEST(CliUsage, HelpVersionAndErrorsHaveTheirExitCodes)
{
    EXPECT_EQ(run_cli({}).exit_code, 2);
    EXPECT_EQ(run_cli({"frobnicate"}).exit_code, 2);
    auto help = run_cli({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Commands:"), std::string::npos);
    auto list_help = run_cli({"list", "--help"});
    EXPECT_EQ(list_help.exit_code, 0);
    EXPECT_NE(list_help.out.find("--hide-notes"), std::string::npos);
    auto bad = run_cli({"list", "--no-such-flag"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("no-such-flag"), std::string::npos);
    EXPECT_EQ(run_cli({"--version"}).exit_code, 0);
}
