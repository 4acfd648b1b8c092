// SPDX-License-Identifier: Apache-2.0
// What is SantaCoder's own, through the real CLI: the attention buffers written back on CS -> HF,
// `fp16_type` by release, the config refusals in the Model Zoo's words, and `list`. The fixtures
// against the Model Zoo's references are conformance rows.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

const char* const kHfConfig = "hf/santacoder/bin/config.json";
const char* const kCsConfig = "cs-ref/santacoder/hf_to_cs/config_to_cs-2.3.yaml";

TEST(SantacoderConfig, RefusalsUseTheModelZooWording)
{
    const std::string hf = read_file(data_path(kHfConfig));
    const std::string cs = read_file(data_path(kCsConfig));
    expect_config_refused("santacoder", "hf", with_json_key(hf, "attention_head_type", "\"multihead\""),
                          "Can't convert config with attention_head_type=multihead. Only multiquery is supported.");
    expect_config_refused("santacoder", "hf", with_json_key(hf, "reorder_and_upcast_attn", "true"),
                          "Can't convert config with reorder_and_upcast_attn=True. Only False is supported.");
    expect_config_refused("santacoder", "hf", with_json_key(hf, "model_type", "\"gpt_bigcode\""),
                          "Can't convert config with model_type=gpt_bigcode. Only gpt2 is supported.");
    expect_config_refused("santacoder", "cs-2.3", with_yaml_key(cs, "attention_module", "aiayn_attention"),
                          "Can't convert config with attention_module=aiayn_attention. Only multiquery_attention is "
                          "supported.");
    expect_config_refused("santacoder-headless", "cs-2.3", with_yaml_key(cs, "attention_type", "scaled_cosine"),
                          "Can't convert config with attention_type=scaled_cosine. Only scaled_dot_product and "
                          "dot_product is supported.");
    expect_config_refused("santacoder", "cs-2.3", with_yaml_key(cs, "scale_attn_by_inverse_layer_idx", "false"),
                          "scale_attn_by_inverse_layer_idx should not appear in the config");
}

/// CS -> HF gives the Model Zoo's config (LM and headless alike: its post-default names the LM
/// class) but for the two keys of D25: not the misspelt `scale_attn_weight` (the fixture's
/// `scale_attn_weights` is already there), and `use_bfloat16` from the CS `fp16_type`.
TEST(SantacoderConfig, HfConfigIsTheModelZoosButForTwoKeys)
{
    for (const char* model : {"santacoder", "santacoder-headless"}) {
        TempDir out;
        RunResult r = convert_config(model, "cs-2.3", "hf", data_path(kCsConfig), out.path());
        ASSERT_EQ(r.exit_code, 0) << model << "\n" << r.err;
        Node ours = config(only_file(out.path(), ".json"));
        Node expected = config(ref("santacoder", "cs_to_hf_bin/config.json"));
        ASSERT_TRUE(expected.erase("scale_attn_weight"));
        ASSERT_TRUE(expected.find("scale_attn_weights") && expected.find("scale_attn_weights")->as_bool());
        expected.set("use_bfloat16", Node(true));
        EXPECT_EQ(ours.size(), expected.size()) << model;
        for (const auto& e : expected.entries()) {
            const std::string key = Node::key_text(e.first);
            ASSERT_TRUE(ours.find(key)) << model << ": " << key;
            EXPECT_TRUE(*ours.find(key) == e.second) << model << ": " << key;
        }
    }
}

/// Releases 2.1 ... 2.4 write `fp16_type: bfloat16`, 2.5.0 removed it; `name` from cs-2.4 on.
TEST(SantacoderConfig, Fp16TypeAndNameFollowTheRelease)
{
    for (const char* tgt : {"cs-2.1", "cs-2.4", "cs-2.5", "cs-2.9"}) {
        TempDir out;
        RunResult r = convert_config("santacoder-headless", "hf", tgt, data_path(kHfConfig), out.path());
        ASSERT_EQ(r.exit_code, 0) << tgt << "\n" << r.err;
        const std::string yaml = read_file(only_file(out.path(), ".yaml"));
        const std::string t = tgt;
        EXPECT_EQ(yaml.find("fp16_type: bfloat16") != std::string::npos, t == "cs-2.1" || t == "cs-2.4") << tgt << yaml;
        EXPECT_EQ(yaml.find("name: santacoder") != std::string::npos, t >= "cs-2.4") << tgt << "\n" << yaml;
    }
}

/// CS -> HF writes each layer's causal mask (uint8 [1, 1, P, P], P = CS max_position_embeddings)
/// and masked_bias (a float32 scalar) again, because the remote code keeps them.
TEST(SantacoderBuffers, RegeneratedOnTheWayToHf)
{
    TempDir out;
    RunResult r = convert("santacoder", "cs-2.3", "hf", data_path(kCsConfig),
                          data_path("cs-ref/santacoder/hf_to_cs/pytorch_model_to_cs-2.3.mdl"), out.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto hf = model_tensors(only_file(out.path(), ".index.json"));
    for (const char* layer : {"0", "1"}) {
        const std::string prefix = std::string("transformer.h.") + layer + ".attn.";
        ASSERT_TRUE(hf.count(prefix + "bias") && hf.count(prefix + "masked_bias")) << prefix;
        EXPECT_EQ(hf.at(prefix + "bias")->info().dtype, DType::u8);
        EXPECT_EQ(hf.at(prefix + "bias")->info().shape, (std::vector<int64_t>{1, 1, 64, 64}));
        EXPECT_EQ(hf.at(prefix + "masked_bias")->info().dtype, DType::f32);
        EXPECT_EQ(floats(hf.at(prefix + "masked_bias")), std::vector<float>{-1e4f});
    }
}

/// muP is folded on the way to HF: k (the first half of kv_attn's columns) by
/// attention_logits_alpha / sqrt(head_dim) = 2 / 4, v and q unchanged.
TEST(SantacoderMup, FoldsKIntoKvAttn)
{
    TempDir in, out;
    const std::string yaml = with_yaml_key(with_yaml_key(read_file(data_path(kCsConfig)), "mup_base_hidden_size", "32"),
                                           "attention_logits_alpha", "2.0");
    write_file(in / "config.yaml", yaml);
    const fs::path mdl = data_path("cs-ref/santacoder/hf_to_cs/pytorch_model_to_cs-2.3.mdl");
    RunResult r = convert("santacoder", "cs-2.3", "hf", in / "config.yaml", mdl, out.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = tensors(mdl);
    const auto hf = tensors(only_file(out.path(), ".index.json"));
    const std::string attn = "transformer_decoder.layers.0.self_attn.";
    const Tensor& k = cs.at(attn + "proj_k_dense_layer.weight"); // [16, 64]
    const Tensor& v = cs.at(attn + "proj_v_dense_layer.weight");
    const Tensor& kv = hf.at("transformer.h.0.attn.kv_attn.weight"); // Conv1D [64, 32]
    ASSERT_EQ(kv.shape, (std::vector<int64_t>{64, 32}));
    for (size_t row = 0; row < 16; ++row)
        for (size_t col = 0; col < 64; ++col) {
            ASSERT_EQ(kv.values[col * 32 + row], 0.5f * k.values[row * 64 + col]) << row << " " << col;
            ASSERT_EQ(kv.values[col * 32 + 16 + row], v.values[row * 64 + col]) << row << " " << col;
        }
    const Tensor& q = cs.at(attn + "proj_q_dense_layer.weight");
    const Tensor& q_attn = hf.at("transformer.h.0.attn.q_attn.weight");
    for (size_t row = 0; row < 64; ++row)
        for (size_t col = 0; col < 64; ++col)
            ASSERT_EQ(q_attn.values[col * 64 + row], q.values[row * 64 + col]);
}

TEST(SantacoderList, ShowsEveryNameWithTheModelZooNotes)
{
    RunResult r = run_bundled({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"santacoder", "santacoder-headless"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
    r = run_bundled({"list", "santacoder-headless", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("GPT2CustomModel"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GPT2LMHeadModel (configured as SantaCoder)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("The HF model doesn't contain a language model head"), std::string::npos) << r.out;
}

} // namespace
} // namespace ckpt::test
