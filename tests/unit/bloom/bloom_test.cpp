// SPDX-License-Identifier: Apache-2.0
// BLOOM's own behaviour through the real CLI: ALiBi slopes generated for a head count that is not
// a power of two (where the Model Zoo crashes), the per-head query_key_value split, the slopes'
// name per release, the BloomModel (headless) key set, and the Model Zoo's config refusals.
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

namespace ckpt::test {
namespace {

/// A BLOOM of `heads` heads of 4 dimensions, 1 layer, vocab 8, in the LM form; distinct values.
void write_tiny_bloom(const fs::path& dir, int64_t heads)
{
    const int64_t d = 4 * heads;
    const std::string h = "transformer.h.0.";
    write_patterned_safetensors(dir / "model.safetensors",
                                {{"transformer.word_embeddings.weight", {8, d}},
                                 {"transformer.word_embeddings_layernorm.weight", {d}},
                                 {"transformer.word_embeddings_layernorm.bias", {d}},
                                 {h + "input_layernorm.weight", {d}},
                                 {h + "input_layernorm.bias", {d}},
                                 {h + "self_attention.query_key_value.weight", {3 * d, d}},
                                 {h + "self_attention.query_key_value.bias", {3 * d}},
                                 {h + "self_attention.dense.weight", {d, d}},
                                 {h + "self_attention.dense.bias", {d}},
                                 {h + "post_attention_layernorm.weight", {d}},
                                 {h + "post_attention_layernorm.bias", {d}},
                                 {h + "mlp.dense_h_to_4h.weight", {4 * d, d}},
                                 {h + "mlp.dense_h_to_4h.bias", {4 * d}},
                                 {h + "mlp.dense_4h_to_h.weight", {d, 4 * d}},
                                 {h + "mlp.dense_4h_to_h.bias", {d}},
                                 {"transformer.ln_f.weight", {d}},
                                 {"transformer.ln_f.bias", {d}},
                                 {"lm_head.weight", {8, d}}});
    std::string json = read_file(hf("bloom", "bin/config.json"));
    json = with_json_key(json, "hidden_size", std::to_string(d));
    json = with_json_key(json, "n_head", std::to_string(heads));
    json = with_json_key(json, "n_layer", "1");
    json = with_json_key(json, "vocab_size", "8");
    json = with_json_key(json, "tie_word_embeddings", "false");
    write_file(dir / "config.json", json);
}

/// The slope of head i of n, computed here from the closed form 2^(-8k/n) of Press et al.
float expected_slope(int64_t n, int64_t i)
{
    int64_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    const double k = i < p ? static_cast<double>(i + 1) : static_cast<double>(2 * (i - p) + 1) / 2.0;
    return static_cast<float>(std::exp2(-8.0 * k / static_cast<double>(p)));
}

class BloomHeads : public ::testing::TestWithParam<int64_t> {};

TEST_P(BloomHeads, SlopesForAnyHeadCountAndABitExactRoundTrip)
{
    const int64_t heads = GetParam();
    const int64_t d = 4 * heads;
    TempDir dir;
    write_tiny_bloom(dir / "in", heads);
    RunResult r = convert_hf("bloom", dir / "in/model.safetensors", dir / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = tensors(dir / "cs/model_to_cs-2.3.mdl");
    const Tensor& slopes = cs.at("embedding_layer.position_embed_helper.slopes");
    ASSERT_EQ(slopes.shape, (std::vector<int64_t>{heads, 1}));
    for (int64_t i = 0; i < heads; ++i)
        EXPECT_EQ(slopes.values[static_cast<size_t>(i)], expected_slope(heads, i)) << "head " << i;

    // query_key_value is [heads, 3, head_dim] by rows: CS q row r of head j is fused row 12j + r.
    const auto in = tensors(dir / "in/model.safetensors");
    const Tensor& fused = in.at("transformer.h.0.self_attention.query_key_value.weight");
    const std::string attn = "transformer_decoder.layers.0.self_attn.proj_";
    const int64_t j = heads - 1;
    for (const auto& [part, offset] : {std::pair<std::string, int64_t>{"q", 0}, {"k", 4}, {"v", 8}}) {
        const Tensor& t = cs.at(attn + part + "_dense_layer.weight");
        ASSERT_EQ(t.shape, (std::vector<int64_t>{d, d})) << part;
        const size_t cs_row = static_cast<size_t>(4 * j + 3), hf_row = static_cast<size_t>(12 * j + offset + 3);
        EXPECT_EQ(t.values[cs_row * static_cast<size_t>(d)], fused.values[hf_row * static_cast<size_t>(d)]) << part;
    }

    r = convert("bloom", "cs-2.3", "hf", dir / "cs/config_to_cs-2.3.yaml", dir / "cs/model_to_cs-2.3.mdl", dir / "hf",
                {"--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(only_file(dir / "hf", ".index.json")), model_tensors(dir / "in/model.safetensors")),
              "");
}

// 4 is the Model Zoo's reference; 3, 6, 12 and 20 are where the Model Zoo crashes.
INSTANTIATE_TEST_SUITE_P(Bloom, BloomHeads, ::testing::Values(4, 3, 6, 12, 20),
                         [](const ::testing::TestParamInfo<int64_t>& p) { return std::to_string(p.param) + "_heads"; });

TEST(Bloom, SlopesAreRelativePeHelperBeforeCs21)
{
    TempDir dir;
    RunResult r = convert("bloom", "cs-2.3", "cs-2.0", ref("bloom", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("bloom", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto old = model_tensors(only_file(dir.path(), ".mdl"));
    const auto cs23 = model_tensors(ref("bloom", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    ASSERT_TRUE(old.count("relative_pe_helper.slopes"));
    EXPECT_FALSE(old.count("embedding_layer.position_embed_helper.slopes"));
    EXPECT_EQ(bytes_of(*old.at("relative_pe_helper.slopes")),
              bytes_of(*cs23.at("embedding_layer.position_embed_helper.slopes")));
}

TEST(Bloom, HeadlessOutputHasBloomModelKeys)
{
    // BloomModel's state dict is BloomForCausalLM's (the fixture transformers wrote) without
    // lm_head and without the `transformer.` prefix; the CS slopes go nowhere.
    TempDir dir;
    RunResult r = convert("bloom-headless", "cs-2.3", "hf", ref("bloom", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("bloom", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::set<std::string> want, got;
    for (const auto& [name, t] : model_tensors(hf("bloom", "bin/pytorch_model.bin")))
        if (name != "lm_head.weight")
            want.insert(name.substr(std::string("transformer.").size()));
    for (const auto& [name, t] : model_tensors(only_file(dir.path(), ".index.json")))
        got.insert(name);
    EXPECT_EQ(got, want);
    const Node cfg = config(only_file(dir.path(), "config.json"));
    EXPECT_EQ(cfg.find("architectures")->items().at(0).as_string(), "BloomModel");
}

TEST(Bloom, LegacyNEmbedSetsTheHiddenSize)
{
    // BloomConfig's n_embed wins over hidden_size, as in transformers.
    std::string json = with_json_key(read_file(hf("bloom", "bin/config.json")), "hidden_size", "32");
    json = with_json_key(json, "n_embed", "64");
    const ConfigOutcome o = convert_config_text("bloom", "hf", json);
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("    hidden_size: 64\n"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("    filter_size: 256\n"), std::string::npos) << o.output;
}

std::string cs_yaml() { return read_file(ref("bloom", "hf_to_cs/config_to_cs-2.3.yaml")); }

TEST(Bloom, ConfigRefusalsUseTheModelZooWording)
{
    expect_config_refusals("bloom", read_file(hf("bloom", "bin/config.json")), cs_yaml(), {
        {"hf", "apply_residual_connection_post_layernorm", "true",
         "Can't convert config with apply_residual_connection_post_layernorm=True. Only False is supported."},
        {"hf", "model_type", "\"gpt2\"", "Can't convert config with model_type=gpt2. Only bloom is supported."},
        {"cs", "filter_size", "128", "HF model only supports filter_size = 4 * hidden_size"},
        {"cs", "attention_inner_dim", "32", "HF model only supports attention_inner_dim = hidden_size"},
        {"cs", "position_embedding_type", "learned",
         "Can't convert config with position_embedding_type=learned. Only alibi is supported."},
        {"cs", "alibi_trainable_slopes", "true",
         "Can't convert config with alibi_trainable_slopes=True. Only False is supported."},
        {"cs", "nonlinearity", "relu", "Can't convert config with nonlinearity=relu. Only gelu is supported."},
    });
    // The CS pre-default embedding_layer_norm: false contradicts the table, as in the Model Zoo.
    const std::string without = std::regex_replace(cs_yaml(), std::regex("\n    embedding_layer_norm: true"), "");
    expect_config_refused("bloom", "cs", without,
                          "Can't convert config with embedding_layer_norm=False. Only True is supported.");
}

TEST(Bloom, ListShowsBothNames)
{
    RunResult r = cli({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"bloom", "bloom-headless"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
}

} // namespace
} // namespace ckpt::test
