// SPDX-License-Identifier: Apache-2.0
// The loader accepts good plugins and rejects each bad fixture with a precise reason.
#include "plugins/plugin_call.hpp"
#include "plugins/plugin_loader.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>

namespace fs = std::filesystem;
using namespace ckpt::host;

namespace {

fs::path fixture(const std::string& name)
{
    return fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR) / ("ckptconv_fixture_" + name + ".so");
}

std::string str(ckpt_str s) { return std::string(s.data, s.size); }

} // namespace

TEST(Loader, LoadsTheNullFixture)
{
    PluginRecord r = load_plugin(fixture("null"));
    ASSERT_TRUE(r.loaded) << r.reason;
    EXPECT_EQ(r.abi_version, static_cast<uint32_t>(CKPT_ABI_VERSION));
    EXPECT_EQ(str(r.descriptor->name), "null");
    ASSERT_EQ(r.descriptor->model_count, 2u);
    EXPECT_EQ(str(r.descriptor->models[0]->name), "null");
    EXPECT_EQ(str(r.descriptor->models[0]->aliases[0]), "null-alias");
    const ckpt_converter* c = r.descriptor->models[0]->converters[0];
    EXPECT_EQ(c->formats[1].count, 2u);
    EXPECT_EQ(str(c->formats[1].formats[1]), "cs-2.2");
}

TEST(Loader, LoadsAPluginWrittenInC)
{
    PluginRecord r = load_plugin(fixture("c_only"));
    ASSERT_TRUE(r.loaded) << r.reason;
    EXPECT_EQ(str(r.descriptor->models[0]->name), "c-only");
}

TEST(Loader, RejectsAnotherMajorNamingBothVersions)
{
    PluginRecord r = load_plugin(fixture("bad_abi"));
    EXPECT_FALSE(r.loaded);
    EXPECT_EQ(CKPT_VERSION_MAJOR(r.abi_version), CKPT_ABI_VERSION_MAJOR + 98u);
    EXPECT_NE(r.reason.find("ABI 99.0"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("ABI " + format_abi(CKPT_ABI_VERSION)), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("major versions differ"), std::string::npos) << r.reason;
}

TEST(Loader, RejectsANewerMinor)
{
    PluginRecord r = load_plugin(fixture("too_new"));
    EXPECT_FALSE(r.loaded);
    EXPECT_NE(r.reason.find("newer than this ckptconv's ABI"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find(format_abi(CKPT_MAKE_VERSION(CKPT_ABI_VERSION_MAJOR, CKPT_ABI_VERSION_MINOR + 1))),
              std::string::npos)
        << r.reason;
}

TEST(Loader, RejectsALibraryWithoutTheEntrySymbol)
{
    PluginRecord r = load_plugin(fixture("no_entry"));
    EXPECT_FALSE(r.loaded);
    EXPECT_NE(r.reason.find("no exported symbol 'ckpt_plugin_entry'"), std::string::npos) << r.reason;
    EXPECT_EQ(r.abi_version, 0u);
}

TEST(Loader, SurvivesAnEntryThatThrows)
{
    PluginRecord r = load_plugin(fixture("throws"));
    EXPECT_FALSE(r.loaded);
    EXPECT_NE(r.reason.find("threw an exception: fixture plugin failed to initialise"), std::string::npos)
        << r.reason;
}

TEST(Loader, RejectsAFileThatIsNotALibrary)
{
    ckpt::test::TempDir dir;
    ckpt::test::write_file(dir / "garbage.so", "this is not an ELF file");
    PluginRecord r = load_plugin(dir / "garbage.so");
    EXPECT_FALSE(r.loaded);
    EXPECT_NE(r.reason.find("cannot load the library"), std::string::npos) << r.reason;
}

TEST(Loader, ScansADirectorySortedAndOnlySharedLibraries)
{
    ckpt::test::TempDir dir;
    ckpt::test::write_file(dir / "README.txt", "not a plugin");
    // Only ckptconv_*.so is a plugin: a helper library beside one is never loaded.
    ckpt::test::write_file(dir / "libacme_helper.so", "never opened");
    auto records = load_plugins({fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR), dir.path()});
    std::vector<std::string> names;
    for (const auto& r : records)
        names.push_back(r.file.filename().string());
    std::vector<std::string> expected{"ckptconv_fixture_bad_abi.so", "ckptconv_fixture_c_only.so",
                                      "ckptconv_fixture_no_entry.so", "ckptconv_fixture_null.so",
                                      "ckptconv_fixture_throws.so",   "ckptconv_fixture_too_new.so",
                                      "ckptconv_fixture_twin.so"};
    EXPECT_EQ(names, expected);
    // The good plugins load although bad ones come first.
    EXPECT_TRUE(records[1].loaded) << records[1].reason;
    EXPECT_TRUE(records[3].loaded);
    EXPECT_TRUE(records[6].loaded);
}

TEST(Loader, LoadsTheSameFileOnceWhenReachedTwice)
{
    auto records = load_plugins({fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR), fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR) / "."});
    EXPECT_EQ(records.size(), 7u);
}

TEST(Loader, SearchPathOrderIsCliThenEnvironmentThenExeRelative)
{
    setenv("CKPT_PLUGIN_PATH", "/env/one:/env/two", 1);
    auto dirs = plugin_search_path({"/cli/dir"});
    unsetenv("CKPT_PLUGIN_PATH");
    ASSERT_GE(dirs.size(), 4u);
    EXPECT_EQ(dirs[0], "/cli/dir");
    EXPECT_EQ(dirs[1], "/env/one");
    EXPECT_EQ(dirs[2], "/env/two");
    EXPECT_EQ(dirs[3].filename(), "plugins");
    EXPECT_EQ(dirs[3].parent_path().filename(), "ckptconv");
}

TEST(Loader, FormatNamesMustBeFreeAndWellFormed)
{
    EXPECT_EQ(check_format_name("acme-1"), "");
    EXPECT_EQ(check_format_name("ckpttoy"), "");
    EXPECT_NE(check_format_name("hf").find("built-in"), std::string::npos);
    EXPECT_NE(check_format_name("cs-9.9").find("built-in"), std::string::npos);
    EXPECT_NE(check_format_name("Acme").find("a-z"), std::string::npos);
    EXPECT_NE(check_format_name("-x").find("start"), std::string::npos);
    EXPECT_NE(check_format_name("").find("empty"), std::string::npos);
}

TEST(Loader, RejectsASecondPluginRegisteringATakenFormat)
{
    // The same plugin under a second name in a second directory: its format acme-1 is taken.
    ckpt::test::TempDir dir;
    fs::copy_file(fs::path(CKPTCONV_EXAMPLE_PLUGIN_DIR) / "ckptconv_acme.so", dir / "ckptconv_acme_copy.so");
    auto records = load_plugins({fs::path(CKPTCONV_EXAMPLE_PLUGIN_DIR), dir.path()});
    ASSERT_EQ(records.size(), 2u);
    EXPECT_TRUE(records[0].loaded) << records[0].reason;
    EXPECT_FALSE(records[1].loaded);
    EXPECT_NE(records[1].reason.find("format 'acme-1' is already registered by"), std::string::npos)
        << records[1].reason;
}

TEST(Loader, APluginTargetingAnOlderMinorDeclaresItAndFillsItsStructsAtThatSize)
{
    PluginRecord today = load_plugin(fs::path(CKPTCONV_EXAMPLE_PLUGIN_DIR) / "ckptconv_acme.so");
    ASSERT_TRUE(today.loaded) << today.reason;
    EXPECT_EQ(format_abi(today.abi_version), format_abi(CKPT_ABI_VERSION));
    EXPECT_EQ(today.descriptor->models[0]->struct_size, sizeof(ckpt_model));
    // The same source built with -DCKPT_TARGET_ABI_MINOR=0.
    PluginRecord old = load_plugin(fs::path(CKPTCONV_EXAMPLE_ABI10_PLUGIN_DIR) / "ckptconv_acme.so");
    ASSERT_TRUE(old.loaded) << old.reason;
    EXPECT_EQ(format_abi(old.abi_version), "1.0");
    EXPECT_EQ(old.descriptor->models[0]->struct_size, offsetof(ckpt_model, registry_name));
}

TEST(PluginCall, TheStatusDecidesTheExitCodeAndTheMessageNamesThePlugin)
{
    EXPECT_EQ(exit_code_for_status(CKPT_ERR_CONFIG_CONVERSION), ckpt::ExitCode::conversion_failed);
    EXPECT_EQ(exit_code_for_status(CKPT_ERR_INVALID_ARGUMENT), ckpt::ExitCode::conversion_failed);
    EXPECT_EQ(exit_code_for_status(CKPT_ERR_BAD_INPUT), ckpt::ExitCode::input);
    EXPECT_EQ(exit_code_for_status(CKPT_ERR_INTERNAL), ckpt::ExitCode::plugin);
    EXPECT_EQ(exit_code_for_status(77), ckpt::ExitCode::plugin);
    try {
        call_plugin("acme", "writing x", [] {
            services()->set_error(nullptr, ckpt_str{"disk on fire", 12});
            return CKPT_ERR_INTERNAL;
        });
        ADD_FAILURE() << "no exception";
    } catch (const PluginCallError& e) {
        EXPECT_STREQ(e.what(), "writing x: the acme plugin failed (CKPT_ERR_INTERNAL): disk on fire");
        EXPECT_EQ(e.code(), ckpt::ExitCode::plugin);
    }
    call_plugin("acme", "fine", [] { return CKPT_OK; }); // no throw
}
