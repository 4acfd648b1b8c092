// SPDX-License-Identifier: Apache-2.0
// The CLIP vision config table's refusals, on small hand-written configs, with the Model Zoo's
// wording; and the size and activation rewrites.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <tuple>
#include <utility>

namespace ckpt::test {
namespace {

const ConfigEntries kCs{{"attention_dropout_rate", "0.0"}, {"filter_size", "128"}, {"hidden_size", "64"},
                        {"image_size", "[32, 32]"}, {"layer_norm_epsilon", "1.0e-05"}, {"nonlinearity", "quick_gelu"},
                        {"num_channels", "3"}, {"num_classes", "32"}, {"num_heads", "4"}, {"num_hidden_layers", "2"},
                        {"patch_size", "[8, 8]"}};
const ConfigEntries kHf{{"hidden_act", "\"quick_gelu\""}, {"hidden_size", "64"}, {"image_size", "32"},
                        {"intermediate_size", "128"}, {"model_type", "\"clip_vision_model\""},
                        {"num_attention_heads", "4"}, {"num_hidden_layers", "2"}, {"patch_size", "8"},
                        {"projection_dim", "32"}};

/// The Model Zoo's CS output / the HF config of the fixture, with `key` set to `value`.
std::string cs_yaml(const std::string& key, const std::string& value) { return cs_yaml_with(kCs, key, value); }
std::string hf_json(const std::string& key, const std::string& value) { return hf_json_with(kHf, key, value); }

ConfigOutcome convert_config(const std::string& src, const std::string& text)
{
    return convert_config_text("clip-vit", src, text);
}

void expect_refused(const std::string& src, const std::string& text, const std::string& message)
{
    expect_config_refused("clip-vit", src, text, message);
}

TEST(ClipVitConfigErrors, ValidConfigsConvert)
{
    EXPECT_EQ(convert_config("cs-2.3", cs_yaml("", "")).exit_code, 0);
    EXPECT_EQ(convert_config("hf", hf_json("", "")).exit_code, 0);
}

TEST(ClipVitConfigErrors, CsAssertedValues)
{
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"use_post_embed_layer_norm", "false", "True"},  {"use_embed_proj_bias", "true", "False"},
        {"use_bias_in_output", "true", "False"},         {"position_embedding_type", "fixed", "learned"},
        {"attention_type", "scaled_cosine", "scaled_dot_product"},
        {"use_projection_bias_in_attention", "false", "True"}, {"use_ffn_bias_in_attention", "false", "True"},
        {"use_ffn_bias", "false", "True"},               {"use_conv_patchified_embedding", "false", "True"}};
    for (const auto& [key, value, only] : cases) {
        const std::string shown = value == "false" ? "False" : value == "true" ? "True" : value;
        expect_refused("cs-2.3", cs_yaml(key, value),
                       "Can't convert config with " + key + "=" + shown + ". Only " + only + " is supported.");
    }
}

TEST(ClipVitConfigErrors, ImageAndPatchMustBeSquare)
{
    expect_refused("cs-2.3", cs_yaml("image_size", "[32, 16]"),
                   "Can't convert config with image_size=[32, 16]. Image width and height need to match.");
    expect_refused("cs-2.3", cs_yaml("patch_size", "[8, 4]"),
                   "Can't convert config with patch_size=[8, 4]. Image width and height need to match.");
}

TEST(ClipVitConfigErrors, HfRefusals)
{
    expect_refused("hf", hf_json("model_type", "\"vit\""),
                   "Can't convert config with model_type=vit. Only clip_vision_model is supported.");
    expect_refused("hf", hf_json("encoder_stride", "16"), "cs-2.3 model only supports encoder_stride == patch_size");
    EXPECT_EQ(convert_config("hf", hf_json("encoder_stride", "8")).exit_code, 0);
}

TEST(ClipVitConfigErrors, ActivationsAndProjectionDim)
{
    ConfigOutcome o = convert_config("hf", hf_json("hidden_act", "\"gelu_pytorch_tanh\""));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("nonlinearity: gelu_new\n"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("num_classes: 32\n"), std::string::npos) << o.output;
    o = convert_config("cs-2.3", cs_yaml("nonlinearity", "swiglu"));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("\"hidden_act\": \"silu\""), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("\"projection_dim\": 32"), std::string::npos) << o.output;
}

} // namespace
} // namespace ckpt::test
