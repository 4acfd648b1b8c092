// SPDX-License-Identifier: Apache-2.0
// The CLIP vision config table's refusals, on small hand-written configs, with the Model Zoo's
// wording; and the size and activation rewrites.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <tuple>
#include <utility>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

/// The Model Zoo's CS output for the fixture, with `key` set to `value` (raw YAML).
std::string cs_yaml(const std::string& key, const std::string& value)
{
    const std::vector<std::pair<std::string, std::string>> base{
        {"attention_dropout_rate", "0.0"}, {"filter_size", "128"}, {"hidden_size", "64"},
        {"image_size", "[32, 32]"}, {"layer_norm_epsilon", "1.0e-05"}, {"nonlinearity", "quick_gelu"},
        {"num_channels", "3"}, {"num_classes", "32"}, {"num_heads", "4"}, {"num_hidden_layers", "2"},
        {"patch_size", "[8, 8]"}};
    std::string out = "model:\n";
    bool seen = false;
    for (const auto& [k, v] : base) {
        seen = seen || k == key;
        out += "    " + k + ": " + (k == key ? value : v) + "\n";
    }
    if (!seen && !key.empty())
        out += "    " + key + ": " + value + "\n";
    return out;
}

/// The fixture's HF config.json with `key` set to `value` (raw JSON).
std::string hf_json(const std::string& key, const std::string& value)
{
    const std::vector<std::pair<std::string, std::string>> base{
        {"hidden_act", "\"quick_gelu\""}, {"hidden_size", "64"}, {"image_size", "32"}, {"intermediate_size", "128"},
        {"model_type", "\"clip_vision_model\""}, {"num_attention_heads", "4"}, {"num_hidden_layers", "2"},
        {"patch_size", "8"}, {"projection_dim", "32"}};
    std::string out = "{";
    bool seen = false;
    for (const auto& [k, v] : base) {
        seen = seen || k == key;
        out += (out.size() > 1 ? ", \"" : "\"") + k + "\": " + (k == key ? value : v);
    }
    if (!seen && !key.empty())
        out += ", \"" + key + "\": " + value;
    return out + "}";
}

struct Outcome {
    int exit_code;
    std::string err, output;
};

Outcome convert_config(const std::string& src, const std::string& text)
{
    TempDir dir;
    const bool from_hf = src == "hf";
    const fs::path cfg = dir / (from_hf ? "config.json" : "params.yaml");
    write_file(cfg, text);
    RunResult r = run_bundled({"convert-config", "--model", "clip-vit", "--src-fmt", src, "--tgt-fmt",
                               from_hf ? "cs-2.3" : "hf", "--config", cfg.string(), "--output-dir",
                               (dir / "out").string()});
    const fs::path out = dir / "out" / (from_hf ? "config_to_cs-2.3.yaml" : "params_to_hf.json");
    if (r.exit_code != 0) {
        EXPECT_TRUE(!fs::exists(dir / "out") || list_tree(dir / "out").empty()) << "no output on failure";
    }
    return {r.exit_code, r.err, fs::exists(out) ? read_file(out) : ""};
}

void expect_refused(const std::string& src, const std::string& text, const std::string& message)
{
    const Outcome o = convert_config(src, text);
    EXPECT_EQ(o.exit_code, 1) << text << "\n" << o.err;
    EXPECT_NE(o.err.find("ConfigConversionError: " + message), std::string::npos) << text << "\n" << o.err;
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
    Outcome o = convert_config("hf", hf_json("hidden_act", "\"gelu_pytorch_tanh\""));
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
