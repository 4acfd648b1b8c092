// SPDX-License-Identifier: Apache-2.0
// YAML configs: values as PyYAML's SafeLoader gives them, merges and aliases, yaml.dump layout,
// and broken files.
#include "config/yaml_config.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

using ckpt::Node;
using ckpt::test::data_path;

namespace {

template <class F> void expect_input_error(F&& f, const std::string& name, const std::string& fragment)
{
    try {
        f();
        ADD_FAILURE() << "no error for " << name;
    } catch (const ckpt::InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(name), std::string::npos) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << "expected `" << fragment << "` in: " << msg;
    }
}

const Node& at(const Node& n, const char* key)
{
    const Node* v = n.find(key);
    if (!v)
        throw std::runtime_error(std::string("missing key ") + key);
    return *v;
}

} // namespace

TEST(YamlConfig, ModelZooYamlKinds)
{
    const Node c = ckpt::read_yaml_config(data_path("configs/cs-ref/gpt2/config_hf_to_cs/config_to_cs-2.3.yaml"));
    const Node& m = at(c, "model");
    EXPECT_EQ(at(m, "layer_norm_epsilon").kind(), Node::Kind::floating);
    EXPECT_EQ(at(m, "layer_norm_epsilon").as_float(), 1e-05);
    EXPECT_EQ(at(m, "num_hidden_layers").kind(), Node::Kind::integer);
    EXPECT_EQ(at(m, "share_embedding_weights").kind(), Node::Kind::boolean);
    EXPECT_EQ(at(m, "nonlinearity").as_string(), "gelu_new");
}

TEST(YamlConfig, ScalarsResolveAsSafeLoader)
{
    // Expected values printed by PyYAML 6 safe_load of the same file.
    const Node c = ckpt::read_yaml_config(data_path("configs/pyyaml/scalars.yaml"));
    const Node& s = at(c, "plain_strings");
    EXPECT_EQ(at(s, "exp_without_dot").as_string(), "1e-5");
    EXPECT_EQ(at(s, "exp_without_sign").as_string(), "1.0e5");
    EXPECT_EQ(at(s, "yaml12_octal").as_string(), "0o17");
    EXPECT_EQ(at(s, "version").as_string(), "2.3.0");
    EXPECT_EQ(at(s, "int_text").kind(), Node::Kind::string);
    EXPECT_EQ(at(s, "empty").as_string(), "");
    EXPECT_EQ(at(s, "multi_line").as_string(), "line one\nline two");
    EXPECT_EQ(at(s, "nul").as_string(), std::string("a\0b", 3));
    EXPECT_EQ(at(s, "cjk").as_string(), "\xE4\xB8\xAD\xE6\x96\x87");
    EXPECT_EQ(at(s, "date_text").as_string(), "2024-01-01");
    // Quoted scalars keep every line break and escape as PyYAML reads them (yaml-cpp alone does not).
    EXPECT_EQ(at(s, "two_trailing_breaks").as_string(), "a\n\n");
    EXPECT_EQ(at(s, "only_break").as_string(), "\n");
    EXPECT_EQ(at(s, "single_quoted_breaks").as_string(), "first\nsecond\n\n");
    EXPECT_EQ(at(s, "double_quoted_folding").as_string(), "one two three\xC2\x85\xC2\xA0\xE2\x80\xA8\xE2\x80\xA9");
    EXPECT_EQ(at(s, "nbsp").as_string(), "a\xC2\xA0" "b");
    const auto& words = at(s, "words").items();
    ASSERT_EQ(words.size(), 12u);
    for (const Node& w : words)
        EXPECT_EQ(w.kind(), Node::Kind::string);

    const Node& n = at(c, "numbers");
    const auto& ints = at(n, "ints").items();
    const int64_t expected_ints[] = {0, 7, -7, 7, 1000, 5, -5, 15, 31, -31, 31, 90, -5415, INT64_MAX, INT64_MIN, 0};
    ASSERT_EQ(ints.size(), std::size(expected_ints));
    for (size_t i = 0; i < ints.size(); ++i) {
        EXPECT_EQ(ints[i].kind(), Node::Kind::integer) << i;
        EXPECT_EQ(ints[i].as_int(), expected_ints[i]) << i;
    }
    for (const Node& f : at(n, "floats").items())
        EXPECT_EQ(f.kind(), Node::Kind::floating);
    const auto& bools = at(n, "bools").items();
    const bool expected_bools[] = {true, false, true, false, true, false};
    ASSERT_EQ(bools.size(), std::size(expected_bools));
    for (size_t i = 0; i < bools.size(); ++i)
        EXPECT_EQ(bools[i].as_bool(), expected_bools[i]) << i;
    for (const Node& v : at(n, "nulls").items())
        EXPECT_TRUE(v.is_null());
    const auto& tagged = at(n, "explicit_tags").items();
    ASSERT_EQ(tagged.size(), 5u);
    EXPECT_EQ(tagged[0].as_string(), "123");
    EXPECT_EQ(tagged[1].as_int(), 42);
    EXPECT_EQ(tagged[2].kind(), Node::Kind::floating);
    EXPECT_EQ(tagged[2].as_float(), 2.0);
    EXPECT_TRUE(tagged[3].as_bool());
    EXPECT_TRUE(tagged[4].is_null());
}

TEST(YamlConfig, MergeKeysAndAliasesAsPyyaml)
{
    const Node c = ckpt::read_yaml_config(data_path("configs/pyyaml/scalars.yaml"));
    const Node& m = at(c, "merges");
    // PyYAML: derived {'x': 1, 'y': 3, 'z': 4}; multi {'y': 2, 'w': 30, 'x': 1, 'v': 1}.
    const Node& derived = at(m, "derived");
    ASSERT_EQ(derived.size(), 3u);
    EXPECT_EQ(derived.entries()[0].first.as_string(), "x");
    EXPECT_EQ(at(derived, "y").as_int(), 3);
    const Node& multi = at(m, "multi");
    ASSERT_EQ(multi.size(), 4u);
    const char* order[] = {"y", "w", "x", "v"};
    for (size_t i = 0; i < 4; ++i)
        EXPECT_EQ(multi.entries()[i].first.as_string(), order[i]);
    EXPECT_EQ(at(multi, "y").as_int(), 2);
    EXPECT_EQ(at(m, "scalar_copy").as_string(), "hello");
    // A repeated key keeps its first position and its last value.
    EXPECT_EQ(at(at(c, "keys"), "dup").as_int(), 2);
}

TEST(YamlConfig, CollectionAliasesAreCopied)
{
    const Node c = ckpt::parse_yaml_config("a: &x {k: [1, 2]}\nb: *x\n", "t.yaml");
    EXPECT_EQ(at(c, "a"), at(c, "b"));
    EXPECT_EQ(at(at(c, "b"), "k").items().size(), 2u);
}

TEST(YamlConfig, NumericKeysFollowPythonDictEquality)
{
    // In Python 1, 1.0 and True are the same dict key.
    const Node c = ckpt::parse_yaml_config("1: a\n1.0: b\ntrue: c\n'1': d\n", "t.yaml");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c.entries()[0].first.kind(), Node::Kind::integer);
    EXPECT_EQ(c.entries()[0].second.as_string(), "c");
    EXPECT_EQ(c.entries()[1].first.as_string(), "1");
}

TEST(YamlConfig, DumpLayoutMatchesPyyaml)
{
    Node c = Node::map();
    Node model = Node::map();
    model.set("b", Node(1e-05));
    model.set("a", Node(int64_t(2)));
    Node list = Node::list();
    Node item = Node::map();
    item.set("name", Node("x"));
    item.set("lr", Node(0.001));
    list.push_back(item);
    list.push_back(Node("yes"));
    list.push_back(Node());
    model.set("list", list);
    model.set("empty", Node::list());
    c.set("model", model);
    c.set("top", Node(""));
    // yaml.dump(..., indent=4) of the same dict, from PyYAML 6.
    EXPECT_EQ(ckpt::format_yaml_config(c), "model:\n"
                                           "    a: 2\n"
                                           "    b: 1.0e-05\n"
                                           "    empty: []\n"
                                           "    list:\n"
                                           "    -   lr: 0.001\n"
                                           "        name: x\n"
                                           "    - 'yes'\n"
                                           "    - null\n"
                                           "top: ''\n");
    // yaml.safe_dump(..., sort_keys=False).
    EXPECT_EQ(ckpt::format_yaml_config_unsorted(c), "model:\n"
                                                    "  b: 1.0e-05\n"
                                                    "  a: 2\n"
                                                    "  list:\n"
                                                    "  - name: x\n"
                                                    "    lr: 0.001\n"
                                                    "  - 'yes'\n"
                                                    "  - null\n"
                                                    "  empty: []\n"
                                                    "top: ''\n");
}

TEST(YamlConfig, RootScalarsAndEmptyRoots)
{
    // PyYAML: yaml.dump({}) == '{}\n', yaml.dump('a') == 'a\n...\n', yaml.dump('') == "''\n".
    EXPECT_EQ(ckpt::format_yaml_config(Node::map()), "{}\n");
    EXPECT_EQ(ckpt::format_yaml_config(Node("a")), "a\n...\n");
    EXPECT_EQ(ckpt::format_yaml_config(Node()), "null\n...\n");
    EXPECT_EQ(ckpt::format_yaml_config(Node("")), "''\n");
}

TEST(YamlConfig, UnwritableValuesNameTheKey)
{
    Node c = Node::map();
    Node m = Node::map();
    m.set("blob", Node::bytes("abc"));
    c.set("model", m);
    expect_input_error([&] { (void)ckpt::format_yaml_config(c); }, "model.blob", "bytes");
}

TEST(YamlConfig, BrokenFilesAreInputErrorsNamingTheFile)
{
    struct Case {
        const char* file;
        const char* fragment;
    };
    const Case cases[] = {
        {"bad/config/invalid.yaml", "invalid YAML at line"},
        {"bad/config/tab_indent.yaml", "line 2"},
        {"bad/config/two_documents.yaml", "second YAML document"},
        {"bad/config/unknown_tag.yaml", "unsupported tag"},
        {"bad/config/garbage.bin", "binary"},
        {"bad/config/nul.yaml", "U+0000"},
        {"bad/config/alias_bomb.yaml", "aliases expand to more than"},
        {"bad/config/recursive_alias.yaml", "recursive"},
        {"bad/config/deep.yaml", "line 1"},
        {"bad/config/scalar_root.yaml", "must be a YAML mapping"},
        {"bad/config/empty.yaml", "empty"},
        {"bad/config/big_int_key.yaml", "64 bits"},
        {"bad/config/array_root.json", "must be a YAML mapping"},
    };
    for (const Case& c : cases) {
        const auto path = data_path(c.file);
        expect_input_error([&] { (void)ckpt::read_yaml_config(path); }, path.string(), c.fragment);
    }
}
