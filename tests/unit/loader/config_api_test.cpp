// SPDX-License-Identifier: Apache-2.0
// The config API plugins receive reads and writes host Node trees, through the C table and the
// C++ wrappers, and never aborts on a wrong kind.
#include "plugins/host_services.hpp"

#include <ckptconv/cpp/config.hpp>

#include <gtest/gtest.h>

using ckpt::Node;
using namespace ckpt::host;

TEST(ConfigApi, ReadsEveryKindThroughTheCTable)
{
    Node cfg = Node::map();
    cfg.set("n_layer", Node(int64_t{2}));
    cfg.set("eps", Node(1e-5));
    cfg.set("name", Node("gpt2"));
    cfg.set("tie", Node(true));
    cfg.set("none", Node());
    Node list = Node::list();
    list.push_back(Node(int64_t{7}));
    cfg.set("ids", list);

    const ckpt_config_api* api = config_api();
    const ckpt_node* root = to_abi(&cfg);
    EXPECT_EQ(api->kind(root), CKPT_NODE_MAP);
    EXPECT_EQ(api->size(root), 6u);
    int64_t i = 0;
    EXPECT_EQ(api->get_int(api->map_find(root, {"n_layer", 7}), &i), CKPT_OK);
    EXPECT_EQ(i, 2);
    double d = 0;
    EXPECT_EQ(api->get_float(api->map_find(root, {"n_layer", 7}), &d), CKPT_OK); // ints widen
    EXPECT_EQ(api->get_int(api->map_find(root, {"eps", 3}), &i), CKPT_ERR_TYPE);
    ckpt_str s{};
    EXPECT_EQ(api->get_string(api->map_find(root, {"name", 4}), &s), CKPT_OK);
    EXPECT_EQ(std::string(s.data, s.size), "gpt2");
    EXPECT_EQ(api->kind(api->map_find(root, {"none", 4})), CKPT_NODE_NULL);
    EXPECT_EQ(api->map_find(root, {"absent", 6}), nullptr);
    EXPECT_EQ(api->kind(api->list_at(api->map_find(root, {"ids", 3}), 0)), CKPT_NODE_INT);
    EXPECT_EQ(api->list_at(api->map_find(root, {"ids", 3}), 1), nullptr);
    EXPECT_EQ(std::string(api->map_key_at(root, 1).data, api->map_key_at(root, 1).size), "eps");
}

TEST(ConfigApi, CppWrappersWriteAndKeepOrder)
{
    Node dst = Node::map();
    ckpt::sdk::Node out(config_api(), to_abi(&dst));
    out.entry("z").set(int64_t{1});
    out.entry("a").set("x");
    out.entry("m").make_map();
    out.entry("m").entry("inner").set(2.5);
    out.entry("l").make_list();
    out.entry("l").append().set(true);
    out.entry("z").set(false); // replacing keeps position
    ASSERT_EQ(dst.size(), 4u);
    EXPECT_EQ(Node::key_text(dst.entries()[0].first), "z");
    EXPECT_EQ(dst.find("z")->as_bool(), false);
    EXPECT_EQ(dst.find("m")->find("inner")->as_float(), 2.5);
    EXPECT_TRUE(out.erase("a"));
    EXPECT_FALSE(out.erase("a"));
    EXPECT_EQ(dst.size(), 3u);

    ckpt::sdk::ConstNode in(config_api(), to_abi(&dst));
    EXPECT_THROW(in["z"].as_int(), ckpt::sdk::Error);
    EXPECT_THROW(in["missing"].as_int(), ckpt::sdk::Error);
    EXPECT_FALSE(in["missing"].present());
}

TEST(ConfigApi, AssignDeepCopiesEvenFromInsideTheTarget)
{
    Node root = Node::map();
    root.set("a", Node::map()).set("b", Node(int64_t{3}));
    ckpt::sdk::Node r(config_api(), to_abi(&root));
    r.find_mut("a").assign(r["a"]["b"]);
    EXPECT_EQ(root.find("a")->as_int(), 3);
}
