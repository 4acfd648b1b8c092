// SPDX-License-Identifier: Apache-2.0
// T5 muP -> sP on CS -> HF (Model Zoo 2.10's Converter_T5_sP_muP): the config loses its muP keys
// and unties, and every tensor is scaled by the factor the formulas give, computed here anew.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

namespace ckpt::test::t5 {
namespace {

const char* const kMupKeys[][2] = {{"mup_base_d_model", "32"},           {"embeddings_alpha", "2.0"},
                                   {"output_logits_alpha", "3.0"},        {"encoder_attention_logits_alpha", "0.5"},
                                   {"scale_decoder_qk_dot_by_d", "false"}, {"mup_base_d_ff", "64"}};

fs::path mup_config(const TempDir& tmp)
{
    std::string yaml = read_file(ref("t5", "hf_to_cs/config_to_cs-2.3.yaml"));
    for (const auto& [k, v] : kMupKeys)
        yaml = with_yaml_key(yaml, k, v);
    const fs::path p = tmp / "mup.yaml";
    write_file(p, yaml);
    return p;
}

/// The expected factor for a Cerebras key of the reference (d_model 64, d_kv 16, base 32).
double expected(const std::string& cs_key)
{
    const double w = 64.0 / 32.0, proj = 1.0 / std::sqrt(w), d_sqrt = 4.0;
    if (cs_key.find("proj_q_dense_layer") != std::string::npos)
        return proj / d_sqrt;
    if (cs_key.find("proj_k_dense_layer") != std::string::npos)
        return cs_key.rfind("encoder", 0) == 0 ? 0.5 * proj / d_sqrt : proj; // decoder: not by d
    if (cs_key.find("proj_v_dense_layer") != std::string::npos)
        return proj;
    if (cs_key.find("proj_output_dense_layer") != std::string::npos)
        return std::sqrt(w);
    if (cs_key == "lm_head.weight")
        return 3.0 / std::sqrt(w);
    if (cs_key.find("word_embeddings") != std::string::npos)
        return 2.0 * 8.0;
    return 1.0;
}

TEST(T5Mup, ConfigUntiesAndDropsMupKeys)
{
    TempDir tmp;
    RunResult r = cli({"convert-config", "--model", "t5", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                       mup_config(tmp).string(), "--output-dir", (tmp / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Node hf_cfg = config(tmp / "out/mup_to_hf.json");
    EXPECT_EQ(hf_cfg.find("tie_word_embeddings")->as_bool(), false);
    for (const auto& [k, v] : kMupKeys)
        EXPECT_EQ(hf_cfg.find(k), nullptr) << k;
    EXPECT_EQ(hf_cfg.find("d_model")->as_int(), 64);
}

TEST(T5Mup, Cs22HasNoMupConversion)
{
    TempDir tmp;
    RunResult r = cli({"convert-config", "--model", "t5", "--src-fmt", "cs-2.2", "--tgt-fmt", "hf",
                       mup_config(tmp).string(), "--output-dir", (tmp / "out").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("ConfigConversionError: This model currently does not support muP checkpoint conversion to HF."),
              std::string::npos)
        << r.err;
}

TEST(T5Mup, CheckpointFoldsEveryFactor)
{
    TempDir tmp;
    const fs::path mdl = ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl");
    RunResult r = convert("t5", "cs-2.3", "hf", mup_config(tmp), mdl, tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto hf_out = tensors(tmp / "hf/pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    const auto cs = tensors(mdl);
    // The untied HF model: lm_head is the CS lm_head, scaled, not the embedding.
    ASSERT_EQ(hf_out.size(), 50u);
    // Each HF tensor against its CS source, by the plugin's own table (checked elsewhere).
    const std::pair<const char*, const char*> pairs[] = {
        {"encoder.block.1.layer.0.SelfAttention.q.weight", "encoder.layers.1.self_attn.proj_q_dense_layer.weight"},
        {"encoder.block.0.layer.0.SelfAttention.k.weight", "encoder.layers.0.self_attn.proj_k_dense_layer.weight"},
        {"decoder.block.1.layer.0.SelfAttention.k.weight", "decoder.layers.1.self_attn.proj_k_dense_layer.weight"},
        {"decoder.block.0.layer.1.EncDecAttention.k.weight", "decoder.layers.0.multihead_attn.proj_k_dense_layer.weight"},
        {"decoder.block.0.layer.1.EncDecAttention.q.weight", "decoder.layers.0.multihead_attn.proj_q_dense_layer.weight"},
        {"encoder.block.0.layer.0.SelfAttention.v.weight", "encoder.layers.0.self_attn.proj_v_dense_layer.weight"},
        {"decoder.block.1.layer.0.SelfAttention.o.weight", "decoder.layers.1.self_attn.proj_output_dense_layer.weight"},
        {"lm_head.weight", "lm_head.weight"},
        {"shared.weight", "decoder_embeddings.word_embeddings.weight"},
        {"encoder.embed_tokens.weight", "decoder_embeddings.word_embeddings.weight"},
        {"decoder.block.1.layer.2.DenseReluDense.wo.weight", "decoder.layers.1.ffn.ffn.1.linear_layer.weight"},
        {"encoder.final_layer_norm.weight", "encoder.norm.weight"},
        {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
         "encoder_embeddings.position_embed_helper.relative_attention_bias.weight"}};
    for (const auto& [hf_name, cs_name] : pairs) {
        ASSERT_TRUE(hf_out.count(hf_name)) << hf_name;
        const auto& got = hf_out.at(hf_name).values;
        const auto& src = cs.at(cs_name).values;
        ASSERT_EQ(got.size(), src.size()) << hf_name;
        const double f = expected(cs_name);
        for (size_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got[i], src[i] * f, 1e-6 * std::max(1.0, std::fabs(src[i] * f))) << hf_name << "[" << i << "]";
    }
    EXPECT_NE(expected("lm_head.weight"), 1.0);
}

} // namespace
} // namespace ckpt::test::t5
