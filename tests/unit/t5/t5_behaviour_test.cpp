// SPDX-License-Identifier: Apache-2.0
// T5 behaviour beyond the references: gated feed-forwards, the model-specific CS release steps
// (cs-1.6 renames, the cs-1.7/1.8 flag flip, cs-1.9 -> 2.0 norm_type and tie repair, cs-2.0 ->
// 2.1 renames), and a release upgrade in one command against the same steps run one by one.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace ckpt::test::t5 {
namespace {

fs::path input_config() { return ref("t5", "input/config.json"); }

TEST(T5Behaviour, GatedFeedForwardRoundTrips)
{
    TempDir tmp;
    // The fixture made gated: wi becomes wi_0 (gate) and a distinct wi_1 (up).
    std::map<std::string, Tensor> gated;
    const std::regex wi(R"(\.DenseReluDense\.wi\.weight$)");
    for (auto& [name, t] : tensors(hf("t5", "bin/pytorch_model.bin"))) {
        if (!std::regex_search(name, wi)) {
            gated[name] = t;
            continue;
        }
        Tensor up = t;
        for (float& v : up.values)
            v += 1000.0f;
        gated[std::regex_replace(name, wi, ".DenseReluDense.wi_0.weight")] = t;
        gated[std::regex_replace(name, wi, ".DenseReluDense.wi_1.weight")] = up;
    }
    fs::create_directories(tmp / "hf");
    write_f32_safetensors(tmp / "hf/model.safetensors", {gated.begin(), gated.end()});
    write_file(tmp / "hf/config.json", with_json_key(read_file(input_config()), "feed_forward_proj", "\"gated-gelu\""));

    RunResult r = convert("t5", "hf", "cs-2.3", tmp / "hf/config.json", tmp / "hf/model.safetensors", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto cs = tensors(tmp / "cs/model_to_cs-2.3.mdl");
    ASSERT_TRUE(cs.count("decoder.layers.1.ffn.ffn.0.linear_layer_for_glu.weight"));
    EXPECT_EQ(cs.at("decoder.layers.1.ffn.ffn.0.linear_layer_for_glu.weight").values,
              gated.at("decoder.block.1.layer.2.DenseReluDense.wi_0.weight").values);
    EXPECT_EQ(cs.at("encoder.layers.0.ffn.ffn.0.linear_layer.weight").values,
              gated.at("encoder.block.0.layer.1.DenseReluDense.wi_1.weight").values);
    EXPECT_NE(read_file(tmp / "cs/config_to_cs-2.3.yaml").find("encoder_nonlinearity: geglu"), std::string::npos);

    r = convert("t5", "cs-2.3", "hf", tmp / "cs/config_to_cs-2.3.yaml", tmp / "cs/model_to_cs-2.3.mdl", tmp / "back");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path back = tmp / "back/model_to_cs-2.3_to_hf";
    EXPECT_TRUE(same_checkpoint(back / "pytorch_model.bin.index.json", tmp / "hf/model.safetensors"));
    EXPECT_EQ(config(back / "config.json").find("feed_forward_proj")->as_string(), "gated-gelu");
}

TEST(T5Behaviour, OldReleasesRoundTripToHf)
{
    // hf -> cs-1.6 walks every T5 release step down; back up to hf must give the same tensors.
    TempDir tmp;
    RunResult r = convert("t5", "hf", "cs-1.6", input_config(), hf("t5", "bin/pytorch_model.bin"), tmp / "old");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path mdl = tmp / "old/pytorch_model_to_cs-1.6.mdl";
    const auto old = tensors(mdl);
    const auto original = tensors(hf("t5", "bin/pytorch_model.bin"));
    // cs-1.6: HF-like layer names, token embeddings of its own, the bias in every block.
    ASSERT_TRUE(old.count("encoder_token_embedding.weight"));
    ASSERT_TRUE(old.count("decoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"));
    EXPECT_EQ(old.at("decoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight").values,
              original.at("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").values);
    EXPECT_TRUE(old.count("decoder.block.1.layer.2.DenseReluDense.wo.weight"));
    EXPECT_FALSE(old.count("shared.weight"));
    const std::string yaml = read_file(tmp / "old/config_to_cs-1.6.yaml");
    EXPECT_NE(yaml.find("use_t5_layer_norm: true"), std::string::npos) << yaml;
    // Absent in cs-1.8 (default true) stays absent in cs-1.7 and 1.6 (default false): same model.
    EXPECT_EQ(yaml.find("use_pre_encoder_decoder_layer_norm"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("norm_type"), std::string::npos) << yaml;

    r = convert("t5", "cs-1.6", "hf", tmp / "old/config_to_cs-1.6.yaml", mdl, tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "hf/pytorch_model_to_cs-1.6_to_hf/pytorch_model.bin.index.json", hf("t5", "bin/pytorch_model.bin")));
}

TEST(T5Behaviour, Cs20NamesAndNormType)
{
    TempDir tmp;
    RunResult r = convert("t5", "hf", "cs-2.0", input_config(), hf("t5", "bin/pytorch_model.bin"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto cs20 = tensors(tmp / "pytorch_model_to_cs-2.0.mdl");
    EXPECT_TRUE(cs20.count("relative_position_encoder.relative_attention_bias.weight"));
    EXPECT_FALSE(cs20.count("encoder_embeddings.position_embed_helper.relative_attention_bias.weight"));
    EXPECT_NE(read_file(tmp / "config_to_cs-2.0.yaml").find("norm_type: rmsnorm"), std::string::npos);

    r = convert("t5", "hf", "cs-1.9", input_config(), hf("t5", "bin/pytorch_model.bin"), tmp / "19");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "19/config_to_cs-1.9.yaml");
    EXPECT_NE(yaml.find("use_t5_layer_norm: true"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("norm_type"), std::string::npos) << yaml;
}

TEST(T5Behaviour, UpgradeInOneCommandEqualsStepByStep)
{
    TempDir tmp;
    RunResult r = convert("t5", "hf", "cs-2.0", input_config(), hf("t5", "bin/pytorch_model.bin"), tmp / "start");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = convert("t5", "cs-2.0", "cs-2.4", tmp / "start/config_to_cs-2.0.yaml", tmp / "start/pytorch_model_to_cs-2.0.mdl",
                tmp / "once");
    ASSERT_EQ(r.exit_code, 0) << r.err;

    fs::path cfg = tmp / "start/config_to_cs-2.0.yaml", mdl = tmp / "start/pytorch_model_to_cs-2.0.mdl";
    const char* steps[][2] = {{"cs-2.0", "cs-2.1"}, {"cs-2.1", "cs-2.2"}, {"cs-2.2", "cs-2.3"}, {"cs-2.3", "cs-2.4"}};
    for (const auto& s : steps) {
        const fs::path out = tmp / (std::string("step_") + s[1]);
        r = convert("t5", s[0], s[1], cfg, mdl, out);
        ASSERT_EQ(r.exit_code, 0) << s[1] << r.err;
        cfg = only_file(out, ".yaml");
        mdl = only_file(out, ".mdl");
    }
    EXPECT_TRUE(same_checkpoint(only_file(tmp / "once", ".mdl"), mdl));
    EXPECT_EQ(read_file(only_file(tmp / "once", ".yaml")), read_file(cfg));
    // And the model is the direct hf -> cs-2.3 reference's, tensor for tensor (the release steps
    // add __metadata__, which the reference has not).
    const auto upgraded = tensors(mdl);
    const auto reference = tensors(ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    ASSERT_EQ(upgraded.size(), reference.size());
    for (const auto& [name, t] : reference) {
        ASSERT_TRUE(upgraded.count(name)) << name;
        EXPECT_EQ(upgraded.at(name).values, t.values) << name;
        EXPECT_EQ(upgraded.at(name).shape, t.shape) << name;
    }
}

TEST(T5Behaviour, Cs19To20RepairsTheTiedHead)
{
    // An untied HF model from safetensors has no lm_head; saying "tied" in the cs-1.9 config lets
    // the cs-2.0 step rebuild it from the word embeddings, as the Model Zoo's tie repair does.
    TempDir tmp;
    fs::create_directories(tmp / "cfg");
    write_file(tmp / "cfg/config.json", with_json_key(read_file(input_config()), "tie_word_embeddings", "false"));
    RunResult r = convert("t5", "hf", "cs-1.9", tmp / "cfg/config.json", hf("t5", "safetensors/model.safetensors"), tmp / "19");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_FALSE(tensors(tmp / "19/model_to_cs-1.9.mdl").count("lm_head.weight"));
    const std::string yaml = read_file(tmp / "19/config_to_cs-1.9.yaml");
    write_file(tmp / "19/tied.yaml", std::regex_replace(yaml, std::regex("share_embedding_weights: false"),
                                                        "share_embedding_weights: true"));
    r = convert("t5", "cs-1.9", "cs-2.0", tmp / "19/tied.yaml", tmp / "19/model_to_cs-1.9.mdl", tmp / "20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto cs20 = tensors(only_file(tmp / "20", ".mdl"));
    const auto cs19 = tensors(tmp / "19/model_to_cs-1.9.mdl");
    ASSERT_TRUE(cs20.count("lm_head.weight"));
    // All three take the first present of lm_head, decoder, encoder: here the decoder's.
    EXPECT_EQ(cs20.at("lm_head.weight").values, cs19.at("decoder_embeddings.word_embeddings.weight").values);
    EXPECT_EQ(cs20.at("encoder_embeddings.word_embeddings.weight").values,
              cs19.at("decoder_embeddings.word_embeddings.weight").values);
    EXPECT_NE(r.err.find("lm_head.weight taken from decoder_embeddings.word_embeddings.weight"), std::string::npos)
        << r.err;
}

TEST(T5Behaviour, TiedEmbeddingsFollowLmHeadAtCs20)
{
    // With both sharing flags, the Model Zoo sets all three to lm_head even when the embeddings
    // exist and differ; untied (share_embedding_weights false) each keeps its own.
    TempDir tmp;
    auto ts = tensors(hf("t5", "bin/pytorch_model.bin"));
    for (float& v : ts.at("lm_head.weight").values)
        v = -v;
    fs::create_directories(tmp / "hf");
    write_f32_safetensors(tmp / "hf/model.safetensors", {ts.begin(), ts.end()});
    // Untied on the way down, so that the tie repair of cs-2.0 -> cs-1.9 keeps them apart.
    fs::create_directories(tmp / "cfg");
    write_file(tmp / "cfg/config.json", with_json_key(read_file(input_config()), "tie_word_embeddings", "false"));
    RunResult r = convert("t5", "hf", "cs-1.9", tmp / "cfg/config.json", tmp / "hf/model.safetensors", tmp / "19");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path mdl = tmp / "19/model_to_cs-1.9.mdl";
    const auto cs19 = tensors(mdl);
    ASSERT_NE(cs19.at("lm_head.weight").values, cs19.at("decoder_embeddings.word_embeddings.weight").values);
    const std::string yaml = read_file(tmp / "19/config_to_cs-1.9.yaml");
    for (const bool tied : {true, false}) {
        const fs::path cfg = tmp / (tied ? "tied.yaml" : "untied.yaml");
        write_file(cfg, std::regex_replace(yaml, std::regex("share_embedding_weights: false"),
                                           std::string("share_embedding_weights: ") + (tied ? "true" : "false")));
        const fs::path out = tmp / (tied ? "t" : "u");
        r = convert("t5", "cs-1.9", "cs-2.0", cfg, mdl, out);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto cs20 = tensors(only_file(out, ".mdl"));
        for (const char* emb : {"decoder_embeddings.word_embeddings.weight", "encoder_embeddings.word_embeddings.weight"})
            EXPECT_EQ(cs20.at(emb).values, cs19.at(tied ? "lm_head.weight" : emb).values) << emb << " tied=" << tied;
        EXPECT_EQ(cs20.at("lm_head.weight").values, cs19.at("lm_head.weight").values);
        EXPECT_EQ(r.err.find("taken from lm_head.weight") != std::string::npos, tied) << r.err;
    }
}

TEST(T5Behaviour, Cs17Cs18FlipsTheLayerNormFlag)
{
    TempDir tmp;
    write_file(tmp / "c17.yaml", "model:\n    d_model: 64\n    use_pre_encoder_decoder_layer_norm: true\n");
    RunResult r = cli({"convert-config", "--model", "t5", "--src-fmt", "cs-1.7", "--tgt-fmt", "cs-1.8",
                       (tmp / "c17.yaml").string(), "--output-dir", (tmp / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(read_file(tmp / "out/c17_to_cs-1.8.yaml").find("use_pre_encoder_decoder_layer_norm: false"),
              std::string::npos)
        << read_file(tmp / "out/c17_to_cs-1.8.yaml");
}

TEST(T5Behaviour, UnknownTensorFailsUnlessDropped)
{
    TempDir tmp;
    auto ts = tensors(hf("t5", "bin/pytorch_model.bin"));
    ts["encoder.block.0.layer.0.SelfAttention.extra.weight"] = ts.at("encoder.final_layer_norm.weight");
    fs::create_directories(tmp / "hf");
    write_f32_safetensors(tmp / "hf/model.safetensors", {ts.begin(), ts.end()});
    RunResult r = convert("t5", "hf", "cs-2.3", input_config(), tmp / "hf/model.safetensors", tmp / "a");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("encoder.block.0.layer.0.SelfAttention.extra.weight"), std::string::npos) << r.err;
    r = convert("t5", "hf", "cs-2.3", input_config(), tmp / "hf/model.safetensors", tmp / "b", {"--drop-unmatched-keys"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "b/model_to_cs-2.3.mdl", ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
}

} // namespace
} // namespace ckpt::test::t5
