// SPDX-License-Identifier: Apache-2.0
// Rule tables convert keys both ways with the Model Zoo's semantics; config tables run the
// defaults/rules/defaults pipeline and raise ConfigConversionError with its wording.
#include "core/node.hpp"
#include "plugins/host_services.hpp"

#include <ckptconv/cpp/rules.hpp>

#include <gtest/gtest.h>

using namespace ckpt::sdk;

namespace {

std::shared_ptr<CheckpointRules> layer_rules()
{
    auto layer = std::make_shared<CheckpointRules>();
    layer->add({eq("ln_1", "norm1"), re(R"(\.(?:weight|bias))")}, copy_tensor());
    layer->add({eq("attn.c_proj", "self_attn.proj_output_dense_layer"), re(R"(\.(?:weight|bias))")}, transpose_if_2d());
    layer->add({eq("attn.", "self_attn."), re(R"((?:masked_bias|bias))")}, drop_tensor());
    return layer;
}

std::shared_ptr<CheckpointRules> model_rules()
{
    auto model = std::make_shared<CheckpointRules>();
    model->add({eq("transformer.wte", "embedding_layer.word_embeddings"), re(R"(\.weight)")}, copy_tensor());
    model->add({eq("transformer.h", "transformer_decoder.layers"), re(R"(\.\d+\.)")}, layer_rules());
    model->add({eq("transformer.wte", "embedding_layer.shadowed"), re(R"(\.weight)")}, copy_tensor());
    return model;
}

} // namespace

TEST(SdkRules, ConvertsInBothDirectionsFromOneTable)
{
    auto rules = model_rules();
    auto m = rules->convert("transformer.h.11.ln_1.bias", 0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->new_key, "transformer_decoder.layers.11.norm1.bias");
    EXPECT_EQ(m->action->name, "replaceKey");
    auto back = rules->convert("transformer_decoder.layers.11.norm1.bias", 1);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->new_key, "transformer.h.11.ln_1.bias");
}

TEST(SdkRules, FirstMatchWinsAndLaterRulesServeTheOtherDirection)
{
    auto rules = model_rules();
    EXPECT_EQ(rules->convert("transformer.wte.weight", 0)->new_key, "embedding_layer.word_embeddings.weight");
    // The third rule is only reachable from side 1.
    EXPECT_EQ(rules->convert("embedding_layer.shadowed.weight", 1)->new_key, "transformer.wte.weight");
}

TEST(SdkRules, NestedRulesAndDropsAndNoMatch)
{
    auto rules = model_rules();
    auto d = rules->convert("transformer.h.0.attn.masked_bias", 0);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->action->fn);
    EXPECT_EQ(d->new_key, "transformer_decoder.layers.0.self_attn.masked_bias");
    EXPECT_FALSE(rules->convert("transformer.h.0.mlp.c_fc.weight", 0));
    EXPECT_FALSE(rules->convert("transformer.h.x.ln_1.weight", 0));
    EXPECT_FALSE(rules->convert("transformer.wte.weight.extra", 0)); // full match required
}

TEST(SdkRules, LiteralsAreEscapedAndCaptureGroupsRejected)
{
    CheckpointRules r;
    r.add({eq("a.b", "c+d")}, copy_tensor());
    EXPECT_TRUE(r.convert("a.b", 0));
    EXPECT_FALSE(r.convert("axb", 0));
    EXPECT_EQ(r.convert("c+d", 1)->new_key, "a.b");
    EXPECT_THROW(re("(weight|bias)"), Error);
    EXPECT_NO_THROW(re("(?:weight|bias)"));
}

namespace {

struct Tree {
    ckpt::Node src = ckpt::Node::map();
    ckpt::Node dst = ckpt::Node::map();
    ConstNode src_view() { return {ckpt::host::config_api(), ckpt::host::to_abi(&src)}; }
    Node dst_view() { return {ckpt::host::config_api(), ckpt::host::to_abi(&dst)}; }
};

class ToyConfig : public TableConfigConverter {
public:
    ToyConfig()
    {
        rules.add({eq("n_embd", "hidden_size")}, rename_key());
        rules.add({eq("norm_type", "norm_type")}, assert_value(1, {Value("layernorm")}));
        rules.add({eq("model_type", "model_type")}, assert_value(0, {Value("gpt2")}));
        rules.add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key());
        pre_defaults[0] = {{"tie_word_embeddings", Value(true)}};
        post_defaults[1] = {{"use_bias_in_output", Value(false)}};
        post_defaults[0] = {{"model_type", Value("gpt2")}};
    }
};

Request request(int direction)
{
    Request r;
    r.host = ckpt::host::services();
    r.direction = direction;
    return r;
}

} // namespace

TEST(SdkConfigTable, RunsDefaultsRulesDefaults)
{
    Tree t;
    t.src.set("n_embd", ckpt::Node(int64_t{64}));
    t.src.set("unknown_key", ckpt::Node(int64_t{1}));
    t.src.set("model_type", ckpt::Node("gpt2"));
    ToyConfig conv;
    conv.run(request(0), t.src_view(), t.dst_view());
    ASSERT_NE(t.dst.find("hidden_size"), nullptr);
    EXPECT_EQ(t.dst.find("hidden_size")->as_int(), 64);
    EXPECT_EQ(t.dst.find("share_embedding_weights")->as_bool(), true); // from the pre-default
    EXPECT_EQ(t.dst.find("use_bias_in_output")->as_bool(), false);     // post-default
    EXPECT_EQ(t.dst.find("unknown_key"), nullptr);                     // unmatched: dropped
    EXPECT_EQ(t.dst.find("model_type"), nullptr);                      // asserted: never written
    EXPECT_EQ(t.src.size(), 3u);                                       // the source is untouched
}

TEST(SdkConfigTable, AssertionsUseTheModelZooWording)
{
    ToyConfig conv;
    {
        Tree t;
        t.src.set("model_type", ckpt::Node("llama"));
        try {
            conv.run(request(0), t.src_view(), t.dst_view());
            FAIL() << "expected ConfigConversionError";
        } catch (const ConfigConversionError& e) {
            EXPECT_STREQ(e.what(), "Can't convert config with model_type=llama. Only gpt2 is supported.");
        }
    }
    {
        Tree t;
        t.src.set("norm_type", ckpt::Node("layernorm"));
        try {
            conv.run(request(0), t.src_view(), t.dst_view()); // norm_type is CS-only
            FAIL() << "expected ConfigConversionError";
        } catch (const ConfigConversionError& e) {
            EXPECT_STREQ(e.what(), "norm_type should not appear in the config");
        }
    }
    {
        Tree t;
        t.src.set("norm_type", ckpt::Node("rmsnorm"));
        EXPECT_THROW(conv.run(request(1), t.src_view(), t.dst_view()), ConfigConversionError);
    }
}

TEST(SdkConfigTable, FillMergesMapDefaultsOneLevel)
{
    Tree t;
    t.dst.set("opt", ckpt::Node::map()).set("a", ckpt::Node(int64_t{1}));
    TableConfigConverter::fill(t.dst_view(), {{"opt", Value::map({{"a", Value(2)}, {"b", Value(3)}})},
                                              {"new", Value("x")}});
    EXPECT_EQ(t.dst.find("opt")->find("a")->as_int(), 1);
    EXPECT_EQ(t.dst.find("opt")->find("b")->as_int(), 3);
    EXPECT_EQ(t.dst.find("new")->as_string(), "x");
}

namespace {

/// A toy table with one gated key of each kind.
class GatedConfig : public TableConfigConverter {
public:
    GatedConfig()
    {
        rules.add({eq("scaling", "scale_type")}, rename_key());
        rules.add({eq("theta", "theta")}, rename_key());
        post_defaults[1] = {{"name", Value("toy")}};
        gates = {{"scale_type", {2, 4}, {Value("linear")}}, {"theta", {2, 1}, {Value(10000.0)}}, registry_name_gate()};
    }
};

Request request_to(const char* tgt)
{
    Request r = request(0);
    r.tgt_fmt = tgt;
    return r;
}

} // namespace

TEST(SdkReleaseGate, ParsesReleases)
{
    ASSERT_TRUE(CsRelease::parse("cs-2.10"));
    EXPECT_EQ(CsRelease::parse("cs-2.10")->minor, 10);
    EXPECT_TRUE(*CsRelease::parse("cs-2.9") < *CsRelease::parse("cs-2.10"));
    EXPECT_EQ(CsRelease::parse("cs-2.4")->tag(), "Release_2.4.0");
    for (const char* bad : {"hf", "cs-auto", "cs-2.3x", "cs-2", ""})
        EXPECT_FALSE(CsRelease::parse(bad)) << bad;
}

TEST(SdkReleaseGate, OlderTargetsLoseImpliedValuesAndLabels)
{
    GatedConfig conv;
    Tree t;
    t.src.set("scaling", ckpt::Node("linear"));
    t.src.set("theta", ckpt::Node(500000.0));
    conv.run(request_to("cs-2.3"), t.src_view(), t.dst_view());
    EXPECT_EQ(t.dst.find("scale_type"), nullptr); // implied by cs-2.3
    EXPECT_EQ(t.dst.find("name"), nullptr);       // a label cs-2.3 does not know
    ASSERT_NE(t.dst.find("theta"), nullptr);      // known since cs-2.1
    for (const char* tgt : {"cs-2.4", "cs-2.10", "hf"}) {
        Tree n;
        n.src.set("scaling", ckpt::Node("linear"));
        conv.run(request_to(tgt), n.src_view(), n.dst_view());
        EXPECT_NE(n.dst.find("scale_type"), nullptr) << tgt;
        EXPECT_NE(n.dst.find("name"), nullptr) << tgt;
    }
}

TEST(SdkReleaseGate, OlderTargetsRefuseOtherValuesNamingTheRelease)
{
    GatedConfig conv;
    Tree t;
    t.src.set("scaling", ckpt::Node("yarn"));
    try {
        conv.run(request_to("cs-2.3"), t.src_view(), t.dst_view());
        FAIL() << "expected ConfigConversionError";
    } catch (const ConfigConversionError& e) {
        EXPECT_STREQ(e.what(), "Can't convert config with scale_type=yarn to cs-2.3: the Model Zoo knows scale_type "
                               "from cs-2.4 (Release_2.4.0) on. Convert to cs-2.4 or later instead.");
    }
}

TEST(SdkReleaseGate, KeepPolicyKeepsImpliedValues)
{
    Tree t;
    t.dst.set("theta", ckpt::Node(10000.0));
    t.dst.set("name", ckpt::Node("toy"));
    const KeyGates gates{{"theta", {2, 1}, {Value(10000.0)}}, registry_name_gate()};
    apply_release_gates(gates, "cs-2.0", t.dst_view(), ImpliedValue::keep);
    EXPECT_NE(t.dst.find("theta"), nullptr);
    EXPECT_EQ(t.dst.find("name"), nullptr); // labels go whatever the policy
    t.dst.set("theta", ckpt::Node(500000.0));
    EXPECT_THROW(apply_release_gates(gates, "cs-2.0", t.dst_view(), ImpliedValue::keep), ConfigConversionError);
}
