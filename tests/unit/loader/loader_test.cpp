// SPDX-License-Identifier: Apache-2.0
// The loader accepts good plugins and rejects each bad fixture with a precise reason.
#include "plugins/plugin_loader.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

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
