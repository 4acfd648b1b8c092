// SPDX-License-Identifier: Apache-2.0
// The ESM-2 config table's refusals, on small hand-written configs, with the Model Zoo's wording;
// and the learned-position arithmetic (HF counts the padding offset, CS does not).
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace ckpt::test {
namespace {

const ConfigEntries kCs{{"attention_dropout_rate", "0.1"}, {"disable_nsp", "true"}, {"dropout_rate", "0.1"},
                        {"embedding_layer_norm", "false"}, {"encoder_nonlinearity", "gelu"}, {"filter_size", "128"},
                        {"hidden_size", "64"}, {"layer_norm_epsilon", "1.0e-12"}, {"mask_token_id", "32"},
                        {"max_position_embeddings", "66"}, {"num_heads", "4"}, {"num_hidden_layers", "2"},
                        {"pad_token_id", "1"}, {"position_embedding_type", "rotary"}, {"rotary_dim", "16"},
                        {"share_embedding_weights", "true"}, {"token_dropout", "true"},
                        {"use_final_layer_norm", "true"}, {"vocab_size", "128"}};
const ConfigEntries kHf{{"emb_layer_norm_before", "false"}, {"hidden_size", "64"}, {"intermediate_size", "128"},
                        {"mask_token_id", "32"}, {"max_position_embeddings", "66"}, {"model_type", "\"esm\""},
                        {"num_attention_heads", "4"}, {"num_hidden_layers", "2"}, {"pad_token_id", "1"},
                        {"position_embedding_type", "\"rotary\""}, {"token_dropout", "true"}, {"vocab_size", "128"}};

/// The Model Zoo's CS output / the HF config of the fixture, with `key` set to `value` or removed.
std::string cs_yaml(const std::string& key, const std::string& value, bool remove = false)
{
    return cs_yaml_with(kCs, key, value, remove);
}
std::string hf_json(const std::string& key, const std::string& value)
{
    return hf_json_with(kHf, key, value, value.empty());
}

ConfigOutcome convert_config(const std::string& src, const std::string& text)
{
    return convert_config_text("esm-2", src, text);
}

void expect_refused(const std::string& src, const std::string& text, const std::string& message)
{
    expect_config_refused("esm-2", src, text, message);
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
    ConfigOutcome o = convert_config("hf", hf_json("position_embedding_type", "\"absolute\""));
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
