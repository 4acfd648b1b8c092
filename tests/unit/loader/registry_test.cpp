// SPDX-License-Identifier: Apache-2.0
// The registry resolves names and aliases, reports clashes and adds generic release steps.
#include "plugins/registry.hpp"

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using namespace ckpt::host;

TEST(Registry, ResolvesNamesAndAliasesIgnoringCase)
{
    auto records = load_plugins({fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR)});
    Registry reg = Registry::build(records);
    ASSERT_NE(reg.find("null"), nullptr);
    EXPECT_EQ(reg.find("NULL-Alias"), reg.find("null"));
    EXPECT_EQ(reg.find("nope"), nullptr);
    std::vector<std::string> expected{"c-only", "null", "null-alias", "null-headless", "twin-only"};
    EXPECT_EQ(reg.names(), expected);
}

TEST(Registry, KeepsTheFirstProviderOfANameAndWarnsOnTheSecond)
{
    auto records = load_plugins({fs::path(CKPTCONV_FIXTURE_PLUGIN_DIR)});
    Registry reg = Registry::build(records);
    EXPECT_EQ(reg.find("null")->plugin->file.filename(), "ckptconv_fixture_null.so");
    const PluginRecord& twin = records.back();
    ASSERT_EQ(twin.file.filename(), "ckptconv_fixture_twin.so");
    ASSERT_EQ(twin.warnings.size(), 1u);
    EXPECT_NE(twin.warnings[0].find("model name 'null' is already provided by"), std::string::npos);
    EXPECT_NE(reg.find("twin-only"), nullptr);
}

TEST(Registry, ParsesCerebrasVersionsAsIntegers)
{
    EXPECT_EQ(parse_cs_version("cs-2.10")->minor, 10);
    EXPECT_TRUE(*parse_cs_version("cs-2.9") < *parse_cs_version("cs-2.10"));
    EXPECT_FALSE(parse_cs_version("hf"));
    EXPECT_FALSE(parse_cs_version("cs-auto"));
    EXPECT_FALSE(parse_cs_version("cs-2."));
    EXPECT_FALSE(parse_cs_version("cs-2.3x"));
    EXPECT_EQ(known_cs_releases().back().name(), "cs-2.9");
}

TEST(Registry, ConverterDirection)
{
    ConverterEntry c;
    c.side[0] = {"hf"};
    c.side[1] = {"cs-2.1", "cs-2.2"};
    EXPECT_EQ(c.direction("hf", "cs-2.2"), 0);
    EXPECT_EQ(c.direction("cs-2.1", "hf"), 1);
    EXPECT_EQ(c.direction("cs-2.1", "cs-2.2"), -1);
}

TEST(Registry, AddsGenericReleaseStepsAboveTheOldestRelease)
{
    static const ckpt_converter kDummy{}; // model converters have a descriptor; generic steps do not
    ModelEntry m;
    m.name = "toy";
    ConverterEntry a; // hf <-> cs-2.1..2.2
    a.side[0] = {"hf"};
    a.side[1] = {"cs-2.1", "cs-2.2"};
    a.descriptor = &kDummy;
    ConverterEntry b; // cs-2.0 <-> cs-2.1 (model-specific)
    b.side[0] = {"cs-2.0"};
    b.side[1] = {"cs-2.1"};
    b.descriptor = &kDummy;
    m.converters = {a, b};
    m.generic = Registry::generic_steps(m.converters);
    std::vector<PluginRecord> none;
    Registry reg = Registry::build(none);
    auto rows = reg.list_rows(m);
    ASSERT_EQ(rows.size(), 2u + m.generic.size());
    std::vector<std::string> generic;
    for (const auto& r : rows)
        if (r.fallback())
            generic.push_back(r.side[0][0] + ">" + r.side[1][0]);
    // 2.0 -> 2.1 is covered by the model's own converter; 1.x steps are below its oldest release.
    std::vector<std::string> expected{"cs-2.1>cs-2.2", "cs-2.2>cs-2.3", "cs-2.3>cs-2.4", "cs-2.4>cs-2.5",
                                      "cs-2.5>cs-2.6", "cs-2.6>cs-2.7", "cs-2.7>cs-2.8", "cs-2.8>cs-2.9"};
    EXPECT_EQ(generic, expected);
    // A model the Model Zoo removed gets no step past its last release.
    generic.clear();
    for (const auto& r : Registry::generic_steps(m.converters, CsVersion{2, 3}))
        generic.push_back(r.side[0][0] + ">" + r.side[1][0]);
    EXPECT_EQ(generic, (std::vector<std::string>{"cs-2.1>cs-2.2", "cs-2.2>cs-2.3"}));
}
