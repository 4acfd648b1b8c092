// SPDX-License-Identifier: Apache-2.0
// Every ConfigConversionError of the T5 config table (spec/mappings.md §2.5c), with the Model
// Zoo's wording, through `ckptconv convert-config` on small hand-edited configs.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test::t5 {
namespace {

struct ErrorCase {
    const char* name;
    bool from_hf;      // true: an HF json converted to cs-2.3; false: a CS yaml converted to hf
    const char* key;   // set in (or added to) the reference config
    const char* value; // JSON or YAML text
    const char* message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

RunResult convert_with(const TempDir& tmp, bool from_hf, const std::string& key, const std::string& value)
{
    fs::path file;
    if (from_hf) {
        file = tmp / "config.json";
        write_file(file, with_json_key(read_file(ref("t5", "input/config.json")), key, value));
    } else {
        file = tmp / "config.yaml";
        std::string yaml = with_yaml_key(read_file(ref("t5", "config_hf_to_cs/config_to_cs-2.3.yaml")), key, value);
        // Both stacks' activations change together, so only the activation itself is at fault.
        if (key == "encoder_nonlinearity")
            yaml = with_yaml_key(yaml, "decoder_nonlinearity", value);
        write_file(file, yaml);
    }
    return cli({"convert-config", "--model", "t5", "--src-fmt", from_hf ? "hf" : "cs-2.3", "--tgt-fmt",
                from_hf ? "cs-2.3" : "hf", file.string(), "--output-dir", (tmp / "out").string()});
}

class T5ConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(T5ConfigError, RaisesWithModelZooWording)
{
    const ErrorCase c = GetParam();
    TempDir tmp;
    RunResult r = convert_with(tmp, c.from_hf, c.key, c.value);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(std::string("ConfigConversionError: ") + c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "out") && !fs::is_empty(tmp / "out"));
}

TEST(T5ConfigErrorControl, UneditedConfigsConvert)
{
    // The cases above fail because of their one edit, not because the base configs are bad.
    for (const bool from_hf : {true, false}) {
        TempDir tmp;
        RunResult r = convert_with(tmp, from_hf, "d_kv", "16");
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, T5ConfigError,
    ::testing::Values(
        // HF values the Cerebras model cannot take.
        ErrorCase{"model_type", true, "model_type", "\"mt5\"", "Can't convert config with model_type=mt5. Only t5 is supported."},
        ErrorCase{"is_encoder_decoder", true, "is_encoder_decoder", "false",
                  "Can't convert config with is_encoder_decoder=False. Only True is supported."},
        ErrorCase{"relative_attention_max_distance", true, "relative_attention_max_distance", "64",
                  "Can't convert config with relative_attention_max_distance=64. Only 128 is supported."},
        ErrorCase{"gated_unknown", true, "feed_forward_proj", "\"gated-tanh\"",
                  "Can't convert config with feed_forward_proj=gated-tanh."},
        // CS-only keys must not appear in an HF config.
        ErrorCase{"hf_norm_type", true, "norm_type", "\"rmsnorm\"", "norm_type should not appear in the config"},
        ErrorCase{"hf_pre_ln", true, "use_pre_encoder_decoder_layer_norm", "true",
                  "use_pre_encoder_decoder_layer_norm should not appear in the config"},
        ErrorCase{"hf_proj_bias", true, "use_projection_bias_in_attention", "false",
                  "use_projection_bias_in_attention should not appear in the config"},
        ErrorCase{"hf_position", true, "position_embedding_type", "\"relative\"",
                  "position_embedding_type should not appear in the config"},
        ErrorCase{"hf_dropout_outside", true, "use_dropout_outside_residual_path", "true",
                  "use_dropout_outside_residual_path should not appear in the config"},
        ErrorCase{"hf_share_enc_dec", true, "share_encoder_decoder_embedding", "true",
                  "share_encoder_decoder_embedding should not appear in the config"},
        ErrorCase{"hf_pre_dropout", true, "use_pre_encoder_decoder_dropout", "false",
                  "use_pre_encoder_decoder_dropout should not appear in the config"},
        ErrorCase{"hf_ffn_bias", true, "use_ffn_bias", "false", "use_ffn_bias should not appear in the config"},
        ErrorCase{"hf_transformer_init", true, "use_transformer_initialization", "false",
                  "use_transformer_initialization should not appear in the config"},
        // CS values HF cannot express.
        ErrorCase{"norm_type", false, "norm_type", "layernorm",
                  "Can't convert config with norm_type=layernorm. Only rmsnorm is supported."},
        ErrorCase{"pre_ln", false, "use_pre_encoder_decoder_layer_norm", "false",
                  "Can't convert config with use_pre_encoder_decoder_layer_norm=False. Only True is supported."},
        ErrorCase{"proj_bias", false, "use_projection_bias_in_attention", "true",
                  "Can't convert config with use_projection_bias_in_attention=True. Only False is supported."},
        ErrorCase{"position", false, "position_embedding_type", "learned",
                  "Can't convert config with position_embedding_type=learned. Only relative is supported."},
        ErrorCase{"dropout_outside", false, "use_dropout_outside_residual_path", "false",
                  "Can't convert config with use_dropout_outside_residual_path=False. Only True is supported."},
        ErrorCase{"share_enc_dec", false, "share_encoder_decoder_embedding", "false",
                  "Can't convert config with share_encoder_decoder_embedding=False. Only True is supported."},
        ErrorCase{"pre_dropout", false, "use_pre_encoder_decoder_dropout", "true",
                  "Can't convert config with use_pre_encoder_decoder_dropout=True. Only False is supported."},
        ErrorCase{"ffn_bias", false, "use_ffn_bias", "true",
                  "Can't convert config with use_ffn_bias=True. Only False is supported."},
        ErrorCase{"transformer_init", false, "use_transformer_initialization", "true",
                  "Can't convert config with use_transformer_initialization=True. Only False is supported."},
        // HF-only keys must not appear in a CS config.
        ErrorCase{"cs_model_type", false, "model_type", "t5", "model_type should not appear in the config"},
        ErrorCase{"cs_is_encoder_decoder", false, "is_encoder_decoder", "true",
                  "is_encoder_decoder should not appear in the config"},
        ErrorCase{"cs_max_distance", false, "relative_attention_max_distance", "128",
                  "relative_attention_max_distance should not appear in the config"},
        // Custom rules and pre-checks.
        ErrorCase{"decoder_nonlinearity", false, "decoder_nonlinearity", "gelu",
                  "Encoder & Decoder nonlinearities must be the same in HF model. Got: relu vs gelu"},
        ErrorCase{"unknown_glu", false, "encoder_nonlinearity", "liglu",
                  "Can't convert config with encoder_nonlinearity=liglu."},
        ErrorCase{"tgt_vocab_size", false, "tgt_vocab_size", "256",
                  "HF implementation doesn't allow tgt_vocab_size != src_vocab_size"},
        ErrorCase{"relu_dropout_rate", false, "relu_dropout_rate", "0.2",
                  "HF implementation doesn't allow relu_dropout_rate != dropout_rate"}),
    [](const ::testing::TestParamInfo<ErrorCase>& p) { return std::string(p.param.name); });

TEST(T5Config, GatedActivationsMapBothWays)
{
    const std::pair<const char*, const char*> cases[] = {
        {"gated-gelu", "geglu"}, {"gated-silu", "swiglu"}, {"gated-relu", "reglu"}, {"gelu", "gelu"}};
    for (const auto& [hf_act, cs_act] : cases) {
        TempDir tmp;
        RunResult r = convert_with(tmp, true, "feed_forward_proj", std::string("\"") + hf_act + "\"");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string yaml = read_file(tmp / "out/config_to_cs-2.3.yaml");
        EXPECT_NE(yaml.find(std::string("encoder_nonlinearity: ") + cs_act + "\n"), std::string::npos) << yaml;
        EXPECT_NE(yaml.find(std::string("decoder_nonlinearity: ") + cs_act + "\n"), std::string::npos) << yaml;
        r = cli({"convert-config", "--model", "t5", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                 (tmp / "out/config_to_cs-2.3.yaml").string(), "--output-dir", (tmp / "back").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const Node back = config(tmp / "back/config_to_cs-2.3_to_hf.json");
        ASSERT_NE(back.find("feed_forward_proj"), nullptr);
        EXPECT_EQ(back.find("feed_forward_proj")->as_string(), hf_act);
    }
}

TEST(T5Config, CsDefaultsFillAMinimalConfig)
{
    // The CS pre-defaults satisfy every assertion; unlisted HF keys take HF's own defaults.
    TempDir tmp;
    write_file(tmp / "cs.yaml", "model:\n    d_model: 64\n    src_vocab_size: 100\n    encoder_nonlinearity: relu\n");
    RunResult r = cli({"convert-config", "--model", "t5", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                       (tmp / "cs.yaml").string(), "--output-dir", (tmp / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Node hf_cfg = config(tmp / "out/cs_to_hf.json");
    ASSERT_NE(hf_cfg.find("layer_norm_epsilon"), nullptr);
    EXPECT_EQ(hf_cfg.find("layer_norm_epsilon")->as_float(), 1e-05);
    EXPECT_EQ(hf_cfg.find("relative_attention_num_buckets")->as_int(), 32);
    EXPECT_EQ(hf_cfg.find("tie_word_embeddings")->as_bool(), true);
    EXPECT_EQ(hf_cfg.find("model_type")->as_string(), "t5");
    EXPECT_EQ(hf_cfg.find("vocab_size")->as_int(), 100);
    EXPECT_EQ(hf_cfg.find("norm_type"), nullptr);
}

} // namespace
} // namespace ckpt::test::t5
