// SPDX-License-Identifier: Apache-2.0
// Every ConfigConversionError of the GPT-2 config table (spec/mappings.md §2.1c), with the
// Model Zoo's wording, plus the defaults and pre-steps, through `ckptconv convert-config`.
#include <gtest/gtest.h>

#include "checkpoint_support.hpp"

namespace ckpt::test::gpt2 {
namespace {

struct ErrorCase {
    const char* name;
    bool from_hf;      // true: an HF json converted to cs-2.3; false: a CS yaml converted to hf
    const char* key;   // appended to the minimal config
    const char* value; // JSON or YAML text
    const char* message;
};

/// Converts the minimal config with `key: value` added; returns the CLI result.
RunResult convert_with(const TempDir& tmp, bool from_hf, const std::string& key, const std::string& value)
{
    fs::path file;
    if (from_hf) {
        std::string json = read_file(ref("gpt2", "configs/hf_minimal.json"));
        json = json.substr(0, json.rfind('}')) + ",\n  \"" + key + "\": " + value + "\n}\n";
        file = tmp / "hf.json";
        write_file(file, json);
    } else {
        file = tmp / "cs.yaml";
        write_file(file, read_file(ref("gpt2", "configs/cs_minimal.yaml")) + "    " + key + ": " + value + "\n");
    }
    return cli({"convert-config", "--model", "gpt2", "--src-fmt", from_hf ? "hf" : "cs-2.3", "--tgt-fmt",
                from_hf ? "cs-2.3" : "hf", file.string(), "--output-dir", (tmp / "out").string()});
}

class Gpt2ConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Gpt2ConfigError, RaisesWithModelZooWording)
{
    const ErrorCase c = GetParam();
    TempDir tmp;
    RunResult r = convert_with(tmp, c.from_hf, c.key, c.value);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(std::string("ConfigConversionError: ") + c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "out") && !fs::is_empty(tmp / "out"));
}

INSTANTIATE_TEST_SUITE_P(
    Table, Gpt2ConfigError,
    ::testing::Values(
        // HF values HF cannot hand over.
        ErrorCase{"model_type", true, "model_type", "\"gpt3\"",
                  "Can't convert config with model_type=gpt3. Only gpt2 is supported."},
        ErrorCase{"scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx", "true",
                  "Can't convert config with scale_attn_by_inverse_layer_idx=True. Only False is supported."},
        ErrorCase{"reorder_and_upcast_attn", true, "reorder_and_upcast_attn", "true",
                  "Can't convert config with reorder_and_upcast_attn=True. Only False is supported."},
        // CS-only keys must not appear in an HF config.
        ErrorCase{"hf_norm_type", true, "norm_type", "\"layernorm\"", "norm_type should not appear in the config"},
        ErrorCase{"hf_norm_first", true, "norm_first", "true", "norm_first should not appear in the config"},
        // CS values HF cannot express.
        ErrorCase{"norm_type", false, "norm_type", "rmsnorm",
                  "Can't convert config with norm_type=rmsnorm. Only layernorm is supported."},
        ErrorCase{"position_embedding_type", false, "position_embedding_type", "rotary",
                  "Can't convert config with position_embedding_type=rotary. Only learned is supported."},
        ErrorCase{"use_position_embedding", false, "use_position_embedding", "false",
                  "Can't convert config with use_position_embedding=False. Only True is supported."},
        ErrorCase{"embedding_layer_norm", false, "embedding_layer_norm", "true",
                  "Can't convert config with embedding_layer_norm=True. Only False is supported."},
        ErrorCase{"use_projection_bias_in_attention", false, "use_projection_bias_in_attention", "false",
                  "Can't convert config with use_projection_bias_in_attention=False. Only True is supported."},
        ErrorCase{"use_ffn_bias_in_attention", false, "use_ffn_bias_in_attention", "false",
                  "Can't convert config with use_ffn_bias_in_attention=False. Only True is supported."},
        ErrorCase{"use_ffn_bias", false, "use_ffn_bias", "false",
                  "Can't convert config with use_ffn_bias=False. Only True is supported."},
        ErrorCase{"use_bias_in_output", false, "use_bias_in_output", "true",
                  "Can't convert config with use_bias_in_output=True. Only False is supported."},
        ErrorCase{"fixed_sparse_attention", false, "fixed_sparse_attention", "fixed",
                  "Can't convert config with fixed_sparse_attention=fixed. Only None is supported."},
        ErrorCase{"norm_first", false, "norm_first", "false",
                  "Can't convert config with norm_first=False. Only True is supported."},
        ErrorCase{"use_ff_layer1_dropout", false, "use_ff_layer1_dropout", "true",
                  "Can't convert config with use_ff_layer1_dropout=True. Only False is supported."},
        ErrorCase{"attention_type", false, "attention_type", "scaled_cosine",
                  "Can't convert config with attention_type=scaled_cosine. Only ['scaled_dot_product', "
                  "'dot_product'] is supported."},
        // HF-only keys must not appear in a CS config.
        ErrorCase{"cs_model_type", false, "model_type", "gpt2", "model_type should not appear in the config"},
        ErrorCase{"cs_reorder_and_upcast_attn", false, "reorder_and_upcast_attn", "false",
                  "reorder_and_upcast_attn should not appear in the config"},
        // A partial pre-cs-2.3 muP set.
        ErrorCase{"partial_mup", false, "embeddings_scale", "10.0",
                  "The config has some but not all of the pre-cs-2.3 muP keys"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Gpt2Config, AcceptedValuesAndDefaults)
{
    TempDir tmp;
    // Allowed CS values pass and are not written; HF gets model_type and tie_word_embeddings.
    RunResult r = convert_with(tmp, false, "norm_type", "layernorm");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string json = read_file(tmp / "out/cs_to_hf.json");
    for (const char* want : {"\"n_embd\": 8", "\"n_inner\": 32", "\"resid_pdrop\": 0.25", "\"embd_pdrop\": 0.25",
                             "\"attn_pdrop\": 0.25", "\"tie_word_embeddings\": true", "\"model_type\": \"gpt2\"",
                             "\"architectures\": ["})
        EXPECT_NE(json.find(want), std::string::npos) << want << "\n" << json;
    EXPECT_EQ(json.find("norm_type"), std::string::npos) << json;

    // n_inner: null becomes 4 * n_embd; scale_attn_weights false -> dot_product.
    r = convert_with(tmp, true, "scale_attn_weights", "false");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "out/hf_to_cs-2.3.yaml");
    for (const char* want : {"\n    filter_size: 32\n", "\n    attention_type: dot_product\n",
                             "\n    share_embedding_weights: true\n", "\n    use_bias_in_output: false\n",
                             "\n    mixed_precision: true\n"})
        EXPECT_NE(yaml.find(want), std::string::npos) << want << "\n" << yaml;
    EXPECT_EQ(yaml.find("model_type"), std::string::npos) << yaml;
}

} // namespace
} // namespace ckpt::test::gpt2
