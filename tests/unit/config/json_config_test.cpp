// SPDX-License-Identifier: Apache-2.0
// JSON configs: value kinds as Python's json gives them, json.dumps formatting, and broken files.
#include "config/json_config.hpp"

#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

using ckpt::Node;
using ckpt::test::data_path;

namespace {

// Expects InputError whose message names `name` and contains `fragment`.
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

} // namespace

TEST(JsonConfig, HuggingFaceConfigKinds)
{
    const Node c = ckpt::read_json_config(data_path("hf/gpt2/bin/config.json"));
    ASSERT_TRUE(c.is_map());
    EXPECT_EQ(c.find("layer_norm_epsilon")->kind(), Node::Kind::floating);
    EXPECT_EQ(c.find("layer_norm_epsilon")->as_float(), 1e-05);
    EXPECT_EQ(c.find("n_layer")->kind(), Node::Kind::integer);
    EXPECT_EQ(c.find("n_layer")->as_int(), 2);
    EXPECT_EQ(c.find("scale_attn_weights")->kind(), Node::Kind::boolean);
    EXPECT_TRUE(c.find("scale_attn_weights")->as_bool());
    EXPECT_TRUE(c.find("summary_activation")->is_null());
    EXPECT_EQ(c.find("architectures")->kind(), Node::Kind::list);
    EXPECT_EQ(c.find("architectures")->items().at(0).as_string(), "GPT2LMHeadModel");
    // Key order is the file's order.
    EXPECT_EQ(c.entries().front().first.as_string(), "activation_function");
    EXPECT_EQ(c.entries().back().first.as_string(), "vocab_size");
}

TEST(JsonConfig, TiedEmbeddingsFlagIsBoolean)
{
    const Node c = ckpt::read_json_config(data_path("configs/cs-ref/gpt2/config_cs_to_hf/config_to_cs-2.3_to_hf.json"));
    ASSERT_NE(c.find("tie_word_embeddings"), nullptr);
    EXPECT_EQ(c.find("tie_word_embeddings")->kind(), Node::Kind::boolean);
    EXPECT_EQ(c.find("initializer_range")->kind(), Node::Kind::floating);
}

TEST(JsonConfig, NumberKindsFollowTheLexeme)
{
    const Node c = ckpt::parse_json_config(
        R"({"i": 1, "neg": -0, "f": 1.0, "e": 1e5, "E": 2E-3, "big": 9223372036854775807,
            "small": -9223372036854775808, "nan": NaN, "inf": Infinity, "ninf": -Infinity, "tiny": 1e-400})",
        "t.json");
    EXPECT_EQ(c.find("i")->kind(), Node::Kind::integer);
    EXPECT_EQ(c.find("neg")->kind(), Node::Kind::integer);
    EXPECT_EQ(c.find("f")->kind(), Node::Kind::floating);
    EXPECT_EQ(c.find("e")->kind(), Node::Kind::floating);
    EXPECT_EQ(c.find("e")->as_float(), 1e5);
    EXPECT_EQ(c.find("E")->as_float(), 2e-3);
    EXPECT_EQ(c.find("big")->as_int(), INT64_MAX);
    EXPECT_EQ(c.find("small")->as_int(), INT64_MIN);
    EXPECT_TRUE(std::isnan(c.find("nan")->as_float()));
    EXPECT_EQ(c.find("inf")->as_float(), HUGE_VAL);
    EXPECT_EQ(c.find("ninf")->as_float(), -HUGE_VAL);
    EXPECT_EQ(c.find("tiny")->as_float(), 0.0);
}

TEST(JsonConfig, FormatsLikePythonJsonDumps)
{
    Node c = Node::map();
    c.set("a", Node(int64_t(1)));
    c.set("f", Node(1e-05));
    c.set("g", Node(1e16));
    c.set("h", Node(100.0));
    c.set("nan", Node(std::nan("")));
    c.set("inf", Node(-HUGE_VAL));
    c.set("s", Node(std::string("caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\" \\ \n\t\x01\x7F")));
    c.set("empty_list", Node::list());
    c.set("empty_map", Node::map());
    Node l = Node::list();
    l.push_back(Node(true));
    l.push_back(Node());
    Node inner = Node::map();
    inner.set("x", Node("y"));
    l.push_back(inner);
    c.set("l", l);
    Node ik = Node::map();
    ik.append(Node(int64_t(3)), Node("three"));
    ik.append(Node(true), Node("t"));
    ik.append(Node(), Node("n"));
    ik.append(Node(0.5), Node("half"));
    c.set("keys", ik);
    // Expected text printed by Python 3.11 json.dumps(..., indent=4) of the same dict.
    const std::string expected = "{\n"
                                 "    \"a\": 1,\n"
                                 "    \"f\": 1e-05,\n"
                                 "    \"g\": 1e+16,\n"
                                 "    \"h\": 100.0,\n"
                                 "    \"nan\": NaN,\n"
                                 "    \"inf\": -Infinity,\n"
                                 "    \"s\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\\t\\u0001\\u007f\",\n"
                                 "    \"empty_list\": [],\n"
                                 "    \"empty_map\": {},\n"
                                 "    \"l\": [\n"
                                 "        true,\n"
                                 "        null,\n"
                                 "        {\n"
                                 "            \"x\": \"y\"\n"
                                 "        }\n"
                                 "    ],\n"
                                 "    \"keys\": {\n"
                                 "        \"3\": \"three\",\n"
                                 "        \"true\": \"t\",\n"
                                 "        \"null\": \"n\",\n"
                                 "        \"0.5\": \"half\"\n"
                                 "    }\n"
                                 "}";
    EXPECT_EQ(ckpt::format_json_config(c), expected);
}

TEST(JsonConfig, SortedStyleSortsByCodePoint)
{
    const Node c = ckpt::parse_json_config(R"({"b": 1, "a": {"z": 1, "y": 2}, "B": 3, "\u00e9": 4})", "t.json");
    EXPECT_EQ(ckpt::format_json_config(c, ckpt::kHuggingFaceJson),
              "{\n  \"B\": 3,\n  \"a\": {\n    \"y\": 2,\n    \"z\": 1\n  },\n  \"b\": 1,\n  \"\\u00e9\": 4\n}\n");
}

TEST(JsonConfig, UnwritableValuesNameTheKey)
{
    Node c = Node::map();
    Node m = Node::map();
    m.set("blob", Node::bytes("abc"));
    c.set("model", m);
    expect_input_error([&] { (void)ckpt::format_json_config(c); }, "model.blob", "bytes");
    Node bad = Node::map();
    bad.set("s", Node(std::string("\xFF")));
    expect_input_error([&] { (void)ckpt::format_json_config(bad); }, "`s`", "UTF-8");
}

TEST(JsonConfig, BrokenFilesAreInputErrorsNamingTheFile)
{
    struct Case {
        const char* file;
        const char* fragment;
    };
    const Case cases[] = {
        {"bad/config/invalid.json", "line 1, column 9"},
        {"bad/config/array_root.json", "a config must be a JSON object"},
        {"bad/config/duplicate_key.json", "duplicate key \"c\""},
        {"bad/config/truncated.json", "invalid JSON"},
        {"bad/config/big_int.json", "does not fit in 64 bits"},
        {"bad/config/deep.json", "nesting deeper than"},
        {"bad/config/invalid_utf8.json", "invalid JSON"},
        {"bad/config/garbage.bin", "invalid JSON"},
        {"bad/config/empty.yaml", "empty"},
    };
    for (const Case& c : cases) {
        const auto path = data_path(c.file);
        expect_input_error([&] { (void)ckpt::read_json_config(path); }, path.string(), c.fragment);
    }
}

TEST(JsonConfig, DuplicateKeyMessageHasLineAndKeyPath)
{
    const auto path = data_path("bad/config/duplicate_key.json");
    expect_input_error([&] { (void)ckpt::read_json_config(path); }, "line 3", "key `b.c`");
}

TEST(JsonConfig, MissingFileAndDirectory)
{
    ckpt::test::TempDir dir;
    expect_input_error([&] { (void)ckpt::read_json_config(dir / "nope.json"); }, "nope.json", "cannot open");
    expect_input_error([&] { (void)ckpt::read_json_config(dir.path()); }, dir.path().string(), "directory");
}

TEST(JsonConfig, RejectsWhatPythonRejects)
{
    expect_input_error([] { (void)ckpt::parse_json_config(R"({"a": Inf})", "t.json"); }, "t.json", "Inf");
    expect_input_error([] { (void)ckpt::parse_json_config(R"({"a": 1} {"b": 2})", "t.json"); }, "t.json",
                       "invalid JSON");
    expect_input_error([] { (void)ckpt::parse_json_config("\"text\"", "t.json"); }, "t.json", "JSON object");
    // Python keeps lone surrogates in str; UTF-8 cannot hold them, so they are refused clearly.
    expect_input_error([] { (void)ckpt::parse_json_config(R"({"a": {"b": "x\udc00"}})", "t.json"); }, "t.json",
                       "key `a.b`");
    expect_input_error([] { (void)ckpt::parse_json_config(R"({"\ud800": 1})", "t.json"); }, "t.json", "invalid JSON");
}

TEST(JsonConfig, SkipsUtf8Bom)
{
    const Node c = ckpt::parse_json_config("\xEF\xBB\xBF{\"a\": 1}", "t.json");
    EXPECT_EQ(c.find("a")->as_int(), 1);
}
