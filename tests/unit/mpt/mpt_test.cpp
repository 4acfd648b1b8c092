// SPDX-License-Identifier: Apache-2.0
// MPT's own behaviour through the real CLI: no CS release after cs-2.3 (list and the error name
// the last one), ALiBi slopes when attn_config asks for them, the tied head, the MptModel
// (headless) key set, transformers' layer_norm_epsilon, and the Model Zoo's config refusals.
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace ckpt::test {
namespace {

std::string hf_json() { return read_file(hf("mpt", "bin/config.json")); }
std::string cs_yaml() { return read_file(ref("mpt", "hf_to_cs/config_to_cs-2.3.yaml")); }

TEST(Mpt, NoCsReleaseAfterCs23)
{
    for (const char* tgt : {"cs-2.4", "cs-2.9"}) {
        TempDir dir;
        RunResult r = convert("mpt", "hf", tgt, hf("mpt", "bin/config.json"), hf("mpt", "bin/pytorch_model.bin"),
                              dir / "out");
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("cs-2.3 is the last release ckptconv converts mpt to: the Model Zoo removed MPT"),
                  std::string::npos)
            << r.err;
        EXPECT_FALSE(fs::exists(dir / "out") && !list_tree(dir / "out").empty());
    }
    // Nor a release step out of cs-2.3, for either name.
    for (const char* model : {"mpt", "mpt-headless"}) {
        TempDir dir;
        RunResult r = convert(model, "cs-2.3", "cs-2.4", ref("mpt", "hf_to_cs/config_to_cs-2.3.yaml"),
                              ref("mpt", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), dir / "out");
        EXPECT_EQ(r.exit_code, 1) << model << "\n" << r.err;
    }
}

TEST(Mpt, ListShowsBothNamesUpToCs23AndTheLastRelease)
{
    RunResult r = cli({"list", "mpt"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Release 2.3.1 is the last Model Zoo"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("cs-2.4"), std::string::npos) << r.out;
    r = cli({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"mpt", "mpt-headless"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
}

TEST(Mpt, AlibiFromAttnConfigAddsTheSlopesAndComesBack)
{
    TempDir dir;
    write_file(dir / "config.json", with_json_key(hf_json(), "attn_config", R"({"alibi": true})"));
    RunResult r = convert("mpt", "hf", "cs-2.3", dir / "config.json", hf("mpt", "bin/pytorch_model.bin"), dir / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("learned position embeddings"), std::string::npos);
    const std::string yaml = read_file(only_file(dir / "cs", ".yaml"));
    EXPECT_NE(yaml.find("    position_embedding_type: alibi\n"), std::string::npos) << yaml;
    const auto cs = tensors(only_file(dir / "cs", ".mdl"));
    const Tensor& slopes = cs.at("embedding_layer.position_embed_helper.slopes");
    ASSERT_EQ(slopes.shape, (std::vector<int64_t>{4, 1}));
    for (int i = 0; i < 4; ++i) // 4 heads: 2^(-8(i+1)/4)
        EXPECT_EQ(slopes.values[static_cast<size_t>(i)], static_cast<float>(std::exp2(-2.0 * (i + 1))));
    r = convert("mpt", "cs-2.3", "hf", only_file(dir / "cs", ".yaml"), only_file(dir / "cs", ".mdl"), dir / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const Node back = config(only_file(dir / "hf", "config.json"));
    EXPECT_TRUE(back.find("attn_config")->find("alibi")->as_bool());
    EXPECT_EQ(compare(model_tensors(only_file(dir / "hf", ".index.json")),
                      model_tensors(hf("mpt", "safetensors/model.safetensors"))),
              "");
}

TEST(Mpt, LearnedPositionsWithoutWpeAreWarnedAbout)
{
    // transformers' MptConfig omits attn_config.alibi (default true); the Model Zoo's default is
    // false, so such a model converts as learned positions the checkpoint does not have.
    TempDir dir;
    RunResult r = convert("mpt", "hf", "cs-2.3", hf("mpt", "bin/config.json"), hf("mpt", "bin/pytorch_model.bin"),
                          dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE((r.out + r.err).find("has no transformer.wpe.weight"), std::string::npos) << r.out << r.err;
}

TEST(Mpt, HeadlessOutputHasMptModelKeysAndTheHeadIsTheEmbedding)
{
    TempDir dir;
    RunResult r = convert("mpt-headless", "cs-2.3", "hf", ref("mpt", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("mpt", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), dir / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::set<std::string> want, got;
    for (const auto& [name, t] : model_tensors(hf("mpt", "bin/pytorch_model.bin")))
        if (name != "lm_head.weight")
            want.insert(name.substr(std::string("transformer.").size()));
    for (const auto& [name, t] : model_tensors(only_file(dir / "hf", ".index.json")))
        got.insert(name);
    EXPECT_EQ(got, want);
    EXPECT_EQ(config(only_file(dir / "hf", "config.json")).find("architectures")->items().at(0).as_string(),
              "MptModel");
    r = convert("mpt-headless", "hf", "cs-2.3", only_file(dir / "hf", "config.json"), only_file(dir / "hf", ".index.json"),
                dir / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("Initializing to same as word embeddings (tied embeddings)"), std::string::npos);
    const auto cs = model_tensors(only_file(dir / "cs", ".mdl"));
    EXPECT_EQ(bytes_of(*cs.at("lm_head.weight")), bytes_of(*cs.at("embedding_layer.word_embeddings.weight")));
}

TEST(Mpt, UntiedHeadGoesBackToHf)
{
    TempDir dir;
    const std::string yaml = with_yaml_key(cs_yaml(), "share_embedding_weights", "false");
    write_file(dir / "config.yaml", yaml);
    RunResult r = convert("mpt", "cs-2.3", "hf", dir / "config.yaml", ref("mpt", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"),
                          dir / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto back = model_tensors(only_file(dir / "hf", ".index.json"));
    EXPECT_EQ(compare(back, model_tensors(hf("mpt", "bin/pytorch_model.bin"))), "");
    EXPECT_FALSE(config(only_file(dir / "hf", "config.json")).find("tie_word_embeddings")->as_bool());
}

TEST(Mpt, LearnedPositionsAndBiasesRoundTrip)
{
    // MosaicML's layout with learned positions (wpe) and biases (no_bias false), 1 layer.
    TempDir dir;
    const std::string b = "transformer.blocks.0.";
    write_patterned_safetensors(dir / "in/model.safetensors",
                                {{"transformer.wte.weight", {128, 64}},
                                 {"transformer.wpe.weight", {64, 64}},
                                 {b + "norm_1.weight", {64}},
                                 {b + "norm_1.bias", {64}},
                                 {b + "attn.Wqkv.weight", {192, 64}},
                                 {b + "attn.Wqkv.bias", {192}},
                                 {b + "attn.out_proj.weight", {64, 64}},
                                 {b + "attn.out_proj.bias", {64}},
                                 {b + "norm_2.weight", {64}},
                                 {b + "norm_2.bias", {64}},
                                 {b + "ffn.up_proj.weight", {128, 64}},
                                 {b + "ffn.up_proj.bias", {128}},
                                 {b + "ffn.down_proj.weight", {64, 128}},
                                 {b + "ffn.down_proj.bias", {64}},
                                 {"transformer.norm_f.weight", {64}},
                                 {"transformer.norm_f.bias", {64}}});
    std::string json = with_json_key(hf_json(), "no_bias", "false");
    json = with_json_key(json, "n_layers", "1");
    json = with_json_key(json, "norm_type", "\"layernorm\"");
    write_file(dir / "in/config.json", json);
    RunResult r = convert_hf("mpt", dir / "in/model.safetensors", dir / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("has no transformer.wpe.weight"), std::string::npos) << r.err;
    const auto cs = tensors(dir / "cs/model_to_cs-2.3.mdl");
    EXPECT_TRUE(cs.count("embedding_layer.position_embeddings.embed.weight"));
    EXPECT_TRUE(cs.count("transformer_decoder.layers.0.self_attn.proj_v_dense_layer.bias"));
    EXPECT_FALSE(cs.count("embedding_layer.position_embed_helper.slopes"));
    const std::string yaml = read_file(dir / "cs/config_to_cs-2.3.yaml");
    EXPECT_NE(yaml.find("    norm_type: layernorm\n"), std::string::npos) << yaml;
    r = convert("mpt", "cs-2.3", "hf", dir / "cs/config_to_cs-2.3.yaml", dir / "cs/model_to_cs-2.3.mdl", dir / "hf",
                {"--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(only_file(dir / "hf", ".index.json")), model_tensors(dir / "in/model.safetensors")),
              "");
}

TEST(Mpt, ConfigRefusalsUseTheModelZooWording)
{
    expect_config_refusals("mpt", hf_json(), cs_yaml(), {
        {"hf", "attn_config", R"({"softmax_scale": 0.5})", "CS model only supports softmax_scale of 1.0 or None"},
        {"hf", "attn_config", R"({"alibi": true, "alibi_bias_max": 16})", "CS only supports alibi_bias_max=8"},
        {"hf", "layer_norm_epsilon", "1e-06",
         "Can't convert config with layer_norm_epsilon=1e-06. Only 1e-05 is supported."},
        {"hf", "embedding_fraction", "0.5", "Can't convert config with embedding_fraction=0.5. Only 1.0 is supported."},
        {"hf", "logit_scale", "2.0", "Can't convert config with logit_scale=2.0. Only None is supported."},
        {"hf", "model_type", "\"gpt2\"", "Can't convert config with model_type=gpt2. Only mpt is supported."},
        {"cs", "filter_size", "100", "expansion_ratio (filter_size / hidden_size) must be an integer"},
        {"cs", "attention_module", "foo", "MPT model does not support attention_module=foo"},
        {"cs", "attention_type", "linear", "attention_type linear isn't supported in MPT models"},
        {"cs", "position_embedding_type", "rotary", "MPT model only supports alibi or learned position embeddings"},
        {"cs", "use_ffn_bias", "true",
         "use_projection_bias_in_attention, use_ffn_bias_in_attention, and use_ffn_bias must all be False when "
         "using biasless-layernorm in MPT models."},
        {"cs", "layer_norm_epsilon", "1.0e-06",
         "Can't convert config with layer_norm_epsilon=1e-06. Only 1e-05 is supported."},
        {"cs", "embedding_layer_norm", "true",
         "Can't convert config with embedding_layer_norm=True. Only False is supported."},
    });
    // The three CS bias flags must agree (norm_type layernorm, so biasless-layernorm is not what refuses).
    std::string mixed = with_yaml_key(cs_yaml(), "norm_type", "layernorm");
    mixed = with_yaml_key(mixed, "use_ffn_bias", "true");
    expect_config_refused("mpt", "cs", mixed,
                          "use_projection_bias_in_attention, use_ffn_bias_in_attention, and use_ffn_bias must all be "
                          "the same in MPT models.");
}

TEST(Mpt, ConfigBothWaysKeepsTheAttentionSettings)
{
    std::string json = with_json_key(hf_json(), "attn_config",
                                     R"({"attn_type": "multiquery_attention", "attn_pdrop": 0.1, "softmax_scale": 1.0})");
    json = with_json_key(json, "no_bias", "false");
    json = with_json_key(json, "norm_type", "\"layernorm\"");
    const ConfigOutcome to_cs = convert_config_text("mpt", "hf", json);
    ASSERT_EQ(to_cs.exit_code, 0) << to_cs.err;
    for (const char* line : {"attention_module: multiquery_attention", "attention_dropout_rate: 0.1",
                             "attention_type: dot_product", "norm_type: layernorm", "use_ffn_bias: true",
                             "filter_size: 128"})
        EXPECT_NE(to_cs.output.find("    " + std::string(line) + "\n"), std::string::npos) << line << "\n" << to_cs.output;
    const ConfigOutcome back = convert_config_text("mpt", "cs", to_cs.output);
    ASSERT_EQ(back.exit_code, 0) << back.err;
    for (const char* part : {R"("attn_type": "multiquery_attention")", R"("attn_pdrop": 0.1)", R"("softmax_scale": 1.0)",
                             R"("no_bias": false)", R"("norm_type": "layernorm")", R"("expansion_ratio": 2)"})
        EXPECT_NE(back.output.find(part), std::string::npos) << part << "\n" << back.output;
}

} // namespace
} // namespace ckpt::test
