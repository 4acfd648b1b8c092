// SPDX-License-Identifier: Apache-2.0
// Conversion paths: shortest chains, model edges preferred, never through hf between CS releases;
// and the Model Zoo's output base names.
#include "convert/conversion.hpp"
#include "core/error.hpp"

#include <gtest/gtest.h>

using namespace ckpt;
using ckpt::host::ConverterEntry;
using ckpt::host::ModelEntry;
using ckpt::host::Registry;

namespace {

const ckpt_converter kDummy{};

ConverterEntry edge(std::vector<std::string> a, std::vector<std::string> b)
{
    ConverterEntry e;
    e.side[0] = std::move(a);
    e.side[1] = std::move(b);
    e.descriptor = &kDummy;
    return e;
}

/// A llama-like model: hf <-> cs-2.1..2.9 in one group, plus cs-2.0 <-> cs-2.1 and cs-1.9 <-> cs-2.0.
ModelEntry llama_like()
{
    ModelEntry m;
    m.name = "llama";
    m.converters = {edge({"cs-1.9"}, {"cs-2.0"}), edge({"cs-2.0"}, {"cs-2.1"}),
                    edge({"hf"}, {"cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"})};
    m.generic = Registry::generic_steps(m.converters);
    return m;
}

std::string hops(const std::vector<convert::Step>& path)
{
    std::string s = path.front().src;
    for (const auto& st : path)
        s += ">" + st.tgt;
    return s;
}

} // namespace

TEST(ConversionPath, OneEdgeWhenAGroupCoversBothFormats)
{
    std::vector<host::PluginRecord> records;
    Registry reg = Registry::build(records);
    auto m = llama_like();
    EXPECT_EQ(hops(convert::find_path(reg, m, "hf", "cs-2.7")), "hf>cs-2.7");
    EXPECT_EQ(hops(convert::find_path(reg, m, "cs-2.4", "hf")), "cs-2.4>hf");
}

TEST(ConversionPath, ChainsThroughOlderReleases)
{
    std::vector<host::PluginRecord> records;
    Registry reg = Registry::build(records);
    auto m = llama_like();
    EXPECT_EQ(hops(convert::find_path(reg, m, "hf", "cs-1.9")), "hf>cs-2.1>cs-2.0>cs-1.9");
    EXPECT_EQ(hops(convert::find_path(reg, m, "cs-1.9", "hf")), "cs-1.9>cs-2.0>cs-2.1>hf");
}

TEST(ConversionPath, NeverPassesThroughHfBetweenCsReleases)
{
    std::vector<host::PluginRecord> records;
    Registry reg = Registry::build(records);
    auto m = llama_like();
    auto path = convert::find_path(reg, m, "cs-2.0", "cs-2.3");
    EXPECT_EQ(hops(path), "cs-2.0>cs-2.1>cs-2.2>cs-2.3");
    EXPECT_FALSE(path[0].converter->fallback()); // the model's own 2.0 -> 2.1 step
    EXPECT_TRUE(path[1].converter->fallback());
    EXPECT_EQ(hops(convert::find_path(reg, m, "cs-2.9", "cs-2.1")).find("hf"), std::string::npos);
}

TEST(ConversionPath, ImpossibleAndTrivialRequestsFail)
{
    std::vector<host::PluginRecord> records;
    Registry reg = Registry::build(records);
    ModelEntry m;
    m.name = "headless";
    m.converters = {edge({"hf"}, {"cs-2.1"})};
    m.generic = Registry::generic_steps(m.converters);
    try {
        convert::find_path(reg, m, "hf", "cs-2.0");
        FAIL();
    } catch (const ConversionError& e) {
        EXPECT_NE(std::string(e.what()).find("Cannot convert headless from hf to cs-2.0"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("hf <-> cs-2.1"), std::string::npos);
    }
    EXPECT_THROW(convert::find_path(reg, m, "hf", "hf"), ConversionError);
}

TEST(OutputNames, RemoveEveryTrailingAlphabeticSuffix)
{
    EXPECT_EQ(convert::remove_file_extension("checkpoint_1000.mdl"), "checkpoint_1000");
    EXPECT_EQ(convert::remove_file_extension("pytorch_model.bin.index.json"), "pytorch_model");
    EXPECT_EQ(convert::remove_file_extension("model.safetensors.index.json"), "model");
    EXPECT_EQ(convert::remove_file_extension("checkpoint_1.7.mdl"), "checkpoint_1.7");
    EXPECT_EQ(convert::remove_file_extension("my.model.bin"), "my");
    EXPECT_EQ(convert::remove_file_extension("noext"), "noext");
}
