// SPDX-License-Identifier: Apache-2.0
// read_config / write_config: choosing JSON or YAML by extension and content.
#include "config/config_file.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using ckpt::ConfigFormat;
using ckpt::Node;
using ckpt::test::data_path;

TEST(ConfigFile, ChoosesByExtensionThenContent)
{
    EXPECT_EQ(ckpt::detect_config_format("a.json", "x: 1"), ConfigFormat::json);
    EXPECT_EQ(ckpt::detect_config_format("a.YAML", "{}"), ConfigFormat::yaml);
    EXPECT_EQ(ckpt::detect_config_format("a.yml", "{}"), ConfigFormat::yaml);
    EXPECT_EQ(ckpt::detect_config_format("params", " \n{\"a\": 1}"), ConfigFormat::json);
    EXPECT_EQ(ckpt::detect_config_format("params", "model:\n  a: 1\n"), ConfigFormat::yaml);
}

TEST(ConfigFile, ReadsBothKinds)
{
    ConfigFormat f{};
    Node j = ckpt::read_config(data_path("hf/llama/bin/config.json"), &f);
    EXPECT_EQ(f, ConfigFormat::json);
    EXPECT_EQ(j.find("num_hidden_layers")->as_int(), 2);
    Node y = ckpt::read_config(data_path("configs/cs-ref/llama/config_hf_to_cs/config_to_cs-2.3.yaml"), &f);
    EXPECT_EQ(f, ConfigFormat::yaml);
    EXPECT_TRUE(y.find("model")->is_map());
}

TEST(ConfigFile, JsonReadAsYamlWouldDifferSoContentDecides)
{
    // `1e5` is a float in JSON but a string to PyYAML: a JSON file without extension is read as JSON.
    ckpt::test::TempDir dir;
    ckpt::test::write_file(dir / "config", "{\"eps\": 1e5}");
    ConfigFormat f{};
    Node c = ckpt::read_config(dir / "config", &f);
    EXPECT_EQ(f, ConfigFormat::json);
    EXPECT_EQ(c.find("eps")->kind(), Node::Kind::floating);
}

TEST(ConfigFile, BinaryAndMissingFilesAreInputErrors)
{
    for (const char* name : {"bad/config/garbage.bin", "bad/config/nope.yaml"}) {
        const auto path = data_path(name);
        try {
            (void)ckpt::read_config(path);
            ADD_FAILURE() << "no error for " << name;
        } catch (const ckpt::InputError& e) {
            EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
        }
    }
}

TEST(ConfigFile, WriteConfigUsesModelZooLayouts)
{
    ckpt::test::TempDir dir;
    Node c = Node::map();
    Node m = Node::map();
    m.set("z", Node(0.5));
    m.set("a", Node(true));
    c.set("model", m);
    ckpt::write_config(dir / "c.yaml", c, true);
    ckpt::write_config(dir / "c.json", c, false);
    EXPECT_EQ(ckpt::test::read_file(dir / "c.yaml"), "model:\n    a: true\n    z: 0.5\n");
    EXPECT_EQ(ckpt::test::read_file(dir / "c.json"), "{\n    \"model\": {\n        \"z\": 0.5,\n        \"a\": true\n    }\n}");
}
