// SPDX-License-Identifier: Apache-2.0
// Which folders are compound checkpoints (image_model/ + text_model/ as one), how their configs
// are read, and which produced configs name parts to write back.
#include "formats/compound_folder.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

/// Writes `text` to `p`, creating its folder.
void put(const fs::path& p, const std::string& text)
{
    fs::create_directories(p.parent_path());
    test::write_file(p, text);
}

TEST(CompoundFolder, TwoModelFoldersWithoutATopConfigMakeOne)
{
    TempDir tmp;
    put(tmp / "text_model/config.json", R"({"hidden_size": 64})");
    EXPECT_TRUE(compound_parts(tmp.path()).empty()); // one part is a model folder's sub-folder, not a compound
    put(tmp / "image_model/config.json", R"({"hidden_size": 48})");
    put(tmp / "image_model/preprocessor_config.json", R"({"size": 32})");
    put(tmp / "tokenizer/vocab.json", "{}"); // a folder without config.json is no part
    EXPECT_EQ(compound_parts(tmp.path()), (std::vector<std::string>{"image_model", "text_model"}));

    const Node cfg = read_compound_config(tmp.path(), compound_parts(tmp.path()));
    ASSERT_TRUE(is_compound_config(cfg));
    EXPECT_EQ(cfg.find("image_model/config.json")->find("hidden_size")->as_int(), 48);
    EXPECT_EQ(cfg.find("image_model/preprocessor_config.json")->find("size")->as_int(), 32);
    EXPECT_EQ(cfg.find("text_model/config.json")->find("hidden_size")->as_int(), 64);
    EXPECT_EQ(cfg.size(), 3u);

    put(tmp / "config.json", "{}"); // a model folder of its own, with sub-folders
    EXPECT_TRUE(compound_parts(tmp.path()).empty());
    EXPECT_TRUE(compound_parts(tmp / "missing").empty());
}

TEST(CompoundFolder, OnlyMapsOfPartFilesAreCompoundConfigs)
{
    Node ok = Node::map();
    ok.set("image_model/config.json", Node::map());
    EXPECT_TRUE(is_compound_config(ok));
    for (const char* bad : {"hidden_size", "image_model/", "/config.json", "a/b/config.json", "image_model/config.yaml"}) {
        Node n = Node::map();
        n.set(bad, Node::map());
        EXPECT_FALSE(is_compound_config(n)) << bad;
    }
    Node scalar = Node::map();
    scalar.set("image_model/config.json", Node(int64_t{1}));
    EXPECT_FALSE(is_compound_config(scalar));
    EXPECT_FALSE(is_compound_config(Node::map()));
    EXPECT_EQ(split_part("text_model/model.norm.weight"),
              std::make_optional(std::make_pair(std::string("text_model"), std::string("model.norm.weight"))));
    EXPECT_EQ(split_part("model.norm.weight"), std::nullopt);
}

} // namespace
} // namespace ckpt
