// SPDX-License-Identifier: Apache-2.0
// The ESM-2 config table's refusals, on small hand-written configs, with the Model Zoo's wording;
// and the learned-position arithmetic (HF counts the padding offset, CS does not).
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

/// The Model Zoo's CS output for the fixture, with `key` set to `value` (raw YAML) or removed.
std::string cs_yaml(const std::string& key, const std::string& value, bool remove = false)
{
    const std::vector<std::pair<std::string, std::string>> base{
        {"attention_dropout_rate", "0.1"}, {"disable_nsp", "true"}, {"dropout_rate", "0.1"},
        {"embedding_layer_norm", "false"}, {"encoder_nonlinearity", "gelu"}, {"filter_size", "128"},
        {"hidden_size", "64"}, {"layer_norm_epsilon", "1.0e-12"}, {"mask_token_id", "32"},
        {"max_position_embeddings", "66"}, {"num_heads", "4"}, {"num_hidden_layers", "2"}, {"pad_token_id", "1"},
        {"position_embedding_type", "rotary"}, {"rotary_dim", "16"}, {"share_embedding_weights", "true"},
        {"token_dropout", "true"}, {"use_final_layer_norm", "true"}, {"vocab_size", "128"}};
    std::string out = "model:\n";
    bool seen = false;
    for (const auto& [k, v] : base) {
        const bool mine = k == key;
        seen = seen || mine;
        if (!(mine && remove))
            out += "    " + k + ": " + (mine ? value : v) + "\n";
    }
    if (!seen && !remove)
        out += "    " + key + ": " + value + "\n";
    return out;
}

/// The fixture's HF config.json with `key` set to `value` (raw JSON) or removed (empty value).
std::string hf_json(const std::string& key, const std::string& value)
{
    const std::vector<std::pair<std::string, std::string>> base{
        {"emb_layer_norm_before", "false"}, {"hidden_size", "64"}, {"intermediate_size", "128"},
        {"mask_token_id", "32"}, {"max_position_embeddings", "66"}, {"model_type", "\"esm\""},
        {"num_attention_heads", "4"}, {"num_hidden_layers", "2"}, {"pad_token_id", "1"},
        {"position_embedding_type", "\"rotary\""}, {"token_dropout", "true"}, {"vocab_size", "128"}};
    std::string out = "{";
    bool seen = false;
    for (const auto& [k, v] : base) {
        const bool mine = k == key;
        seen = seen || mine;
        if (mine && value.empty())
            continue;
        out += (out.size() > 1 ? ", \"" : "\"") + k + "\": " + (mine ? value : v);
    }
    if (!seen && !value.empty())
        out += ", \"" + key + "\": " + value;
    return out + "}";
}

/// convert-config of `text` from `src`; returns the exit code, stderr and the output file's text.
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
    RunResult r = run_bundled({"convert-config", "--model", "esm-2", "--src-fmt", src, "--tgt-fmt",
                               from_hf ? "cs-2.3" : "hf", "--config", cfg.string(), "--output-dir",
                               (dir / "out").string()});
    const fs::path out = dir / "out" / (from_hf ? "config_to_cs-2.3.yaml" : "params_to_hf.json");
    Outcome o{r.exit_code, r.err, fs::exists(out) ? read_file(out) : ""};
    if (r.exit_code != 0) {
        EXPECT_TRUE(!fs::exists(dir / "out") || list_tree(dir / "out").empty()) << "no output on failure";
    }
    return o;
}

void expect_refused(const std::string& src, const std::string& text, const std::string& message)
{
    const Outcome o = convert_config(src, text);
    EXPECT_EQ(o.exit_code, 1) << text << "\n" << o.err;
    EXPECT_NE(o.err.find("ConfigConversionError: " + message), std::string::npos) << text << "\n" << o.err;
}

TEST(Esm2ConfigErrors, ValidConfigsConvert)
{
    EXPECT_EQ(convert_config("cs-2.3", cs_yaml("", "")).exit_code, 0);
    EXPECT_EQ(convert_config("hf", hf_json("", "")).exit_code, 0);
}

TEST(Esm2ConfigErrors, CsAssertedValues)
{
    const std::vector<std::pair<std::string, std::string>> cases{
        {"encoder_nonlinearity", "relu"}, {"mlm_nonlinearity", "relu"},   {"use_final_layer_norm", "false"},
        {"disable_nsp", "false"},         {"pooler_nonlinearity", "gelu"}, {"attention_type", "scaled_cosine"},
        {"use_ffn_bias", "false"},        {"use_output_bias_in_mlm", "false"}};
    const std::map<std::string, std::string> only{
        {"encoder_nonlinearity", "gelu"}, {"mlm_nonlinearity", "gelu"}, {"use_final_layer_norm", "True"},
        {"disable_nsp", "True"},          {"pooler_nonlinearity", "tanh"}, {"attention_type", "scaled_dot_product"},
        {"use_ffn_bias", "True"},         {"use_output_bias_in_mlm", "True"}};
    for (const auto& [key, value] : cases) {
        const std::string shown = value == "false" ? "False" : value;
        expect_refused("cs-2.3", cs_yaml(key, value),
                       "Can't convert config with " + key + "=" + shown + ". Only " + only.at(key) + " is supported.");
    }
    // A CS config without the final norm means none; HF always has one.
    expect_refused("cs-2.3", cs_yaml("use_final_layer_norm", "", true),
                   "Can't convert config with use_final_layer_norm=False. Only True is supported.");
}

TEST(Esm2ConfigErrors, RotaryDimMustCoverTheHead)
{
    expect_refused("cs-2.3", cs_yaml("rotary_dim", "8"),
                   "rotary_dim must be hidden_size // num_heads in order to be compatible with HF");
}

TEST(Esm2ConfigErrors, TokenDropoutNeedsTheMaskToken)
{
    expect_refused("hf", hf_json("mask_token_id", ""), "mask_token_id must be provided when token_dropout is enabled");
    expect_refused("cs-2.3", cs_yaml("mask_token_id", "", true),
                   "mask_token_id must be provided when token_dropout is enabled");
    EXPECT_EQ(convert_config("hf", hf_json("token_dropout", "false")).exit_code, 0);
}

TEST(Esm2ConfigErrors, PositionEmbeddingTypes)
{
    expect_refused("hf", hf_json("position_embedding_type", "\"relative_key\""),
                   "CS model doesn't support HF's position_embedding_type=relative_key");
    expect_refused("cs-2.3", cs_yaml("position_embedding_type", "fixed"),
                   "HF model doesn't support CS's position_embedding_type=fixed");
    expect_refused("cs-2.3", cs_yaml("position_embedding_type", "learned"),
                   "ESM-2 trained in CS with learned embeddings must have mask_padding_in_positional_embed=True in "
                   "order to convert to HF");
    expect_refused("hf", hf_json("model_type", "\"bert\""), "Can't convert config with model_type=bert. Only esm is supported.");
}

TEST(Esm2ConfigErrors, LearnedPositionsCountThePaddingOffsetOnHf)
{
    // HF absolute table of 66 rows with pad 1 is a CS sequence length of 64, and back.
    Outcome o = convert_config("hf", hf_json("position_embedding_type", "\"absolute\""));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("max_position_embeddings: 64\n"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("position_embedding_type: learned\n"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("mask_padding_in_positional_embed: true\n"), std::string::npos) << o.output;
    EXPECT_EQ(o.output.find("rotary_dim"), std::string::npos) << o.output;

    std::string yaml = cs_yaml("max_position_embeddings", "64");
    const std::string rotary = "position_embedding_type: rotary";
    yaml.replace(yaml.find(rotary), rotary.size(), "position_embedding_type: learned");
    yaml += "    mask_padding_in_positional_embed: true\n";
    o = convert_config("cs-2.3", yaml);
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("\"max_position_embeddings\": 66"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("\"position_embedding_type\": \"absolute\""), std::string::npos) << o.output;
}

} // namespace
} // namespace ckpt::test
