// SPDX-License-Identifier: Apache-2.0
// The manual pages the build generates and the bash completion script: every flag of every
// sub-command documented, and completion of sub-commands, flags, model names and formats.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using ckpt::test::read_file;
using ckpt::test::run_cli;

namespace {

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty())
            out.push_back(l);
    return out;
}

std::vector<std::string> commands()
{
    auto r = run_cli({"__complete", "commands"});
    EXPECT_EQ(r.exit_code, 0);
    std::vector<std::string> out;
    for (const auto& c : lines(r.out))
        if (c != "help")
            out.push_back(c);
    return out;
}

/// "--model" as man(7) spells it in a page (hyphens as \-).
std::string roff(std::string s)
{
    std::string out;
    for (char c : s)
        out += c == '-' ? std::string("\\-") : std::string(1, c);
    return out;
}

/// What the bash completion offers for the words typed so far (the last one being completed),
/// run as bash runs it on <TAB>: COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY read.
std::vector<std::string> complete(const std::vector<std::string>& typed)
{
    std::string words = "'" + std::string(CKPTCONV_EXE) + "'";
    for (const auto& w : typed)
        words += " '" + w + "'";
    const std::string script = "source '" + std::string(CKPTCONV_COMPLETION_BASH) + "'; COMP_WORDS=(" + words +
                               "); COMP_CWORD=" + std::to_string(typed.size()) +
                               "; _ckptconv; printf '%s\\n' \"${COMPREPLY[@]}\"";
    auto r = ckpt::test::run_program("/bin/bash", {"--norc", "-c", script},
                                     {"CKPT_PLUGIN_DEFAULT_DIR=" CKPTCONV_BUILD_PLUGIN_DIR});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines(r.out);
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

} // namespace

TEST(ManualPages, OnePerSubCommandMentioningEveryFlag)
{
    const fs::path dir = CKPTCONV_MAN_DIR;
    const std::string overview = read_file(dir / "ckptconv.1");
    EXPECT_NE(overview.find(".TH CKPTCONV 1"), std::string::npos);
    const auto cmds = commands();
    ASSERT_GE(cmds.size(), 7u);
    for (const auto& c : cmds) {
        EXPECT_NE(overview.find(".B " + c + "\n"), std::string::npos) << c;
        const fs::path page = dir / ("ckptconv-" + c + ".1");
        ASSERT_TRUE(fs::exists(page)) << page;
        const std::string text = read_file(page);
        EXPECT_NE(text.find(".SH SYNOPSIS"), std::string::npos) << c;
        auto flags = run_cli({c, "--complete-flags"});
        ASSERT_EQ(flags.exit_code, 0);
        ASSERT_FALSE(lines(flags.out).empty()) << c;
        for (const auto& f : lines(flags.out))
            EXPECT_NE(text.find(roff(f)), std::string::npos) << c << " page lacks " << f;
        // The page is what --help-man prints now (it cannot go stale).
        EXPECT_EQ(text, run_cli({c, "--help-man"}).out) << c;
    }
}

TEST(Completion, SubCommandsFlagsModelsAndFormats)
{
    EXPECT_EQ(complete({"conv"}), (std::vector<std::string>{"convert", "convert-config"}));
    EXPECT_EQ(complete({"-v", "ins"}), (std::vector<std::string>{"inspect"}));
    EXPECT_EQ(complete({"help", "rep"}), (std::vector<std::string>{"repack"}));
    EXPECT_EQ(complete({"--verb"}), (std::vector<std::string>{"--verbose"}));
    EXPECT_EQ(complete({"convert", "x", "--dt"}), (std::vector<std::string>{"--dtype"}));
    EXPECT_TRUE(has(complete({"repack", "--"}), "--shard-size"));
    const auto models = complete({"convert", "x", "--model", "ll"});
    EXPECT_TRUE(has(models, "llama")) << ::testing::PrintToString(models);
    EXPECT_TRUE(has(models, "llamaV2")) << ::testing::PrintToString(models);
    EXPECT_EQ(complete({"convert", "x", "--model", "gpt2", "--tgt-fmt", "cs-2.1"}), (std::vector<std::string>{"cs-2.1"}));
    EXPECT_TRUE(has(complete({"convert", "x", "--src-fmt", ""}), "cs-auto"));
    EXPECT_EQ(complete({"repack", "a", "b", "--dtype", "b"}), (std::vector<std::string>{"bfloat16"}));
}
