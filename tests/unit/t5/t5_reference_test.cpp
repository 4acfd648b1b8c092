// SPDX-License-Identifier: Apache-2.0
// The t5 plugin through the real CLI: tied copies restored from safetensors, the Model Zoo's
// refusal of the original fixture, the --debug lines and the aliases (the Model Zoo references and
// round trips are rows of tests/conformance/conformance_test.cpp).
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace ckpt::test::t5 {
namespace {

/// The reference input is the fixture with relative_attention_max_distance 128 (see OVERRIDE.txt).
fs::path input_config() { return ref("t5", "input/config.json"); }

TEST(T5Reference, HfToCs23FromSingleSafetensorsRestoresTiedCopies)
{
    // transformers wrote only shared.weight; the tied embed_tokens and lm_head come back from it.
    const auto original = tensors(hf("t5", "safetensors/model.safetensors"));
    ASSERT_TRUE(original.count("shared.weight"));
    ASSERT_FALSE(original.count("lm_head.weight"));
    TempDir out;
    RunResult r = convert("t5", "hf", "cs-2.3", input_config(), hf("t5", "safetensors/model.safetensors"), out.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("lm_head.weight is restored from shared.weight"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("encoder_embeddings.word_embeddings.weight is restored from shared.weight"), std::string::npos)
        << r.err;
    EXPECT_TRUE(same_checkpoint(out / "model_to_cs-2.3.mdl", ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
    EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("t5", "hf_to_cs/config_to_cs-2.3.yaml")));
}

TEST(T5Reference, UntiedSafetensorsDoesNotInventAnLmHead)
{
    TempDir out;
    fs::create_directories(out / "cfg");
    write_file(out / "cfg/config.json", with_json_key(read_file(input_config()), "tie_word_embeddings", "false"));
    RunResult r = convert("t5", "hf", "cs-2.3", out / "cfg/config.json", hf("t5", "safetensors/model.safetensors"), out / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = tensors(out / "cs/model_to_cs-2.3.mdl");
    EXPECT_FALSE(cs.count("lm_head.weight"));
    EXPECT_TRUE(cs.count("decoder_embeddings.word_embeddings.weight"));
}

TEST(T5Reference, OriginalFixtureFailsLikeTheModelZoo)
{
    // steps.json `fail_original_input`: the tiny model's own distance of 16 is refused.
    TempDir out;
    RunResult r = convert("t5", "hf", "cs-2.3", hf("t5", "bin/config.json"), hf("t5", "bin/pytorch_model.bin"), out.path());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("ConfigConversionError: Can't convert config with relative_attention_max_distance=16. Only "
                         "128 is supported."),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(out / "pytorch_model_to_cs-2.3.mdl"));
}

/// `Matched <old> -> <new> action: <name>` as the Model Zoo prints it with --debug.
std::string line(const std::string& from, const std::string& to, const std::string& action)
{
    return "Matched " + from + " -> " + to + " action: " + action;
}

bool has_line(const std::vector<std::string>& lines, const std::string& want)
{
    return std::find(lines.begin(), lines.end(), want) != lines.end();
}

TEST(T5Reference, DebugLinesFollowTheTable)
{
    TempDir out;
    RunResult r = convert("t5", "hf", "cs-2.3", input_config(), hf("t5", "bin/pytorch_model.bin"), out / "cs", {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = matched_lines(r.err);
    // Every checkpoint tensor once (50), plus the matched config keys.
    const size_t tensor_lines = static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find(".weight ->") != std::string::npos;
    }));
    EXPECT_EQ(tensor_lines, tensors(hf("t5", "bin/pytorch_model.bin")).size());
    const std::string bias = ".block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    for (const std::string& want :
         {line("feed_forward_proj", "encoder_nonlinearity", "convert_nonlinearity"),
          line("relative_attention_max_distance", "relative_attention_max_distance", "assert_factory_wrapper"),
          line("num_layers", "encoder_num_hidden_layers", "replaceKey"), line("shared.weight", "shared.weight", "None"),
          line("encoder" + bias, "encoder" + bias, "convert_relative_attention_bias_hf_to_cs21"),
          line("decoder.embed_tokens.weight", "decoder_embeddings.word_embeddings.weight", "convert_embeddings"),
          line("encoder.block.1.layer.1.DenseReluDense.wi.weight", "encoder.layers.1.ffn.ffn.0.linear_layer.weight",
               "convert_dense_layer"),
          line("decoder.block.1.layer.2.DenseReluDense.wo.weight", "decoder.layers.1.ffn.ffn.1.linear_layer.weight",
               "replaceKey"),
          line("decoder.block.0.layer.1.EncDecAttention.v.weight",
               "decoder.layers.0.multihead_attn.proj_v_dense_layer.weight", "replaceKey"),
          line("decoder.block.1.layer.2.layer_norm.weight", "decoder.layers.1.norm3.weight", "replaceKey"),
          line("encoder.final_layer_norm.weight", "encoder.norm.weight", "replaceKey"),
          line("lm_head.weight", "lm_head.weight", "replaceKey")})
        EXPECT_TRUE(has_line(lines, want)) << want;

    r = convert("t5", "cs-2.3", "hf", ref("t5", "hf_to_cs/config_to_cs-2.3.yaml"), ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"),
                out / "hf", {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = matched_lines(r.err);
    for (const std::string& want :
         {line("encoder_nonlinearity", "feed_forward_proj", "convert_nonlinearity"),
          line("decoder_nonlinearity", "decoder_nonlinearity", "assert_decoder_nonlinearity"),
          line("src_max_position_embeddings", "src_max_position_embeddings", "None"),
          line("norm_type", "norm_type", "assert_factory_wrapper"),
          line("decoder_embeddings.position_embed_helper.relative_attention_bias.weight",
               "decoder_embeddings.position_embed_helper.relative_attention_bias.weight",
               "convert_relative_attention_bias_cs17_to_hf"),
          line("decoder.layers.0.ffn.ffn.0.linear_layer.weight", "decoder.block.0.layer.1.DenseReluDense.wi.weight",
               "convert_dense_layer")})
        EXPECT_TRUE(has_line(lines, want)) << want;
}

TEST(T5Reference, AliasesConvertAndNameTheRegistryEntry)
{
    for (const std::string model : {"transformer", "ul2", "flan-ul2"}) {
        TempDir out;
        RunResult r = convert(model, "hf", "cs-2.3", input_config(), hf("t5", "bin/pytorch_model.bin"), out.path());
        ASSERT_EQ(r.exit_code, 0) << model << r.err;
        EXPECT_TRUE(same_checkpoint(out / "pytorch_model_to_cs-2.3.mdl", ref("t5", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"))) << model;
        r = cli({"convert-config", "--model", model, "--src-fmt", "hf", "--tgt-fmt", "cs-2.4", input_config().string(),
                 "--output-dir", (out / "c").string()});
        ASSERT_EQ(r.exit_code, 0) << model << r.err;
        const Node cfg = config(out / "c/config_to_cs-2.4.yaml");
        const Node* name = cfg.find("model") ? cfg.find("model")->find("name") : nullptr;
        ASSERT_NE(name, nullptr) << model;
        EXPECT_EQ(name->as_string(), model == "transformer" ? "transformer" : "t5");
    }
}

} // namespace
} // namespace ckpt::test::t5
