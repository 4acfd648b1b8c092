// SPDX-License-Identifier: Apache-2.0
// Every ConfigConversionError and assertion of the llama/mistral config tables, on small
// hand-written configs, with the Model Zoo's wording.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test::llama {
namespace {

/// A valid CS llama model section (the Model Zoo's own output for the fixture) with one line
/// replaced, added or removed.
std::string cs_yaml(const std::string& key, const std::string& value, bool remove = false)
{
    const std::vector<std::pair<std::string, std::string>> base{
        {"attention_dropout_rate", "0.0"}, {"attention_module", "multiquery_attention"},
        {"attention_type", "scaled_dot_product"}, {"dropout_rate", "0.0"}, {"embedding_dropout_rate", "0.0"},
        {"embedding_layer_norm", "false"}, {"extra_attention_params", "{num_kv_groups: 2}"},
        {"filter_size", "128"}, {"hidden_size", "64"}, {"initializer_range", "0.02"},
        {"layer_norm_epsilon", "1.0e-06"}, {"max_position_embeddings", "64"}, {"nonlinearity", "swiglu"},
        {"norm_first", "true"}, {"norm_type", "rmsnorm"}, {"num_heads", "4"}, {"num_hidden_layers", "2"},
        {"pos_scaling_factor", "1.0"}, {"position_embedding_type", "rotary"}, {"rope_theta", "10000.0"},
        {"rotary_dim", "16"}, {"share_embedding_weights", "false"}, {"use_bias_in_output", "false"},
        {"use_ff_layer1_dropout", "false"}, {"use_ffn_bias", "false"}, {"use_ffn_bias_in_attention", "false"},
        {"use_projection_bias_in_attention", "false"}, {"vocab_size", "128"}};
    std::string out = "model:\n";
    bool seen = false;
    for (const auto& [k, v] : base) {
        if (k == key) {
            seen = true;
            if (!remove)
                out += "    " + k + ": " + value + "\n";
        } else {
            out += "    " + k + ": " + v + "\n";
        }
    }
    if (!seen && !remove)
        out += "    " + key + ": " + value + "\n";
    return out;
}

/// A valid HF llama config.json with one entry set (raw JSON value) or removed.
std::string hf_json(const std::string& key, const std::string& value, const std::string& model_type = "llama")
{
    std::vector<std::pair<std::string, std::string>> base{
        {"hidden_act", "\"silu\""}, {"hidden_size", "64"}, {"intermediate_size", "128"},
        {"max_position_embeddings", "64"}, {"model_type", "\"" + model_type + "\""}, {"num_attention_heads", "4"},
        {"num_hidden_layers", "2"}, {"num_key_value_heads", "2"}, {"rms_norm_eps", "1e-06"},
        {"rope_scaling", "null"}, {"rope_theta", "10000.0"}, {"tie_word_embeddings", "false"}, {"vocab_size", "128"}};
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

/// Runs convert-config on `text` and returns stderr; expects failure.
std::string fails(const std::string& model, const std::string& src, const std::string& tgt, const std::string& text)
{
    TempDir dir;
    const fs::path cfg = dir / (src == "hf" ? "config.json" : "params.yaml");
    write_file(cfg, text);
    RunResult r = cli({"convert-config", "--model", model, "--src-fmt", src, "--tgt-fmt", tgt, "--config", cfg.string(),
                       "--output-dir", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 1) << text << "\n" << r.out << r.err;
    EXPECT_FALSE(fs::exists(dir / "out") && !list_tree(dir / "out").empty()) << "no output on failure";
    return r.err;
}

std::string cs_to_hf_fails(const std::string& yaml) { return fails("llama", "cs-2.3", "hf", yaml); }
std::string hf_to_cs_fails(const std::string& json) { return fails("llama", "hf", "cs-2.3", json); }

TEST(LlamaConfigErrors, ValidConfigsConvert)
{
    for (const auto& [src, tgt, text] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"cs-2.3", "hf", cs_yaml("", "")}, {"hf", "cs-2.3", hf_json("", "")}}) {
        TempDir dir;
        const fs::path cfg = dir / (src == "hf" ? "config.json" : "params.yaml");
        write_file(cfg, text);
        RunResult r = cli({"convert-config", "--model", "llama", "--src-fmt", src, "--tgt-fmt", tgt, "--config",
                           cfg.string(), "--output-dir", dir.path().string()});
        EXPECT_EQ(r.exit_code, 0) << text << r.out << r.err;
    }
}

TEST(LlamaConfigErrors, CsAssertedValues)
{
    struct Case {
        std::string key, value, shown, only;
    };
    const std::vector<Case> cases{
        {"position_embedding_type", "learned", "learned", "rotary"},
        {"use_position_embedding", "false", "False", "True"},
        {"embedding_dropout_rate", "0.1", "0.1", "0.0"},
        {"embedding_layer_norm", "true", "True", "False"},
        {"attention_type", "scaled_cosine", "scaled_cosine", "scaled_dot_product"},
        {"use_projection_bias_in_attention", "true", "True", "False"},
        {"use_ffn_bias_in_attention", "true", "True", "False"},
        {"use_ffn_bias", "true", "True", "False"},
        {"attention_dropout_rate", "0.1", "0.1", "0.0"},
        {"dropout_rate", "0.2", "0.2", "0.0"},
        {"use_bias_in_output", "true", "True", "False"},
        {"fixed_sparse_attention", "abc", "abc", "None"},
        {"norm_first", "false", "False", "True"},
        {"use_ff_layer1_dropout", "true", "True", "False"},
        {"use_rms_norm", "false", "False", "True"},
        {"norm_type", "layernorm", "layernorm", "rmsnorm"},
    };
    for (const auto& c : cases) {
        const std::string err = cs_to_hf_fails(cs_yaml(c.key, c.value));
        EXPECT_NE(err.find("ConfigConversionError: Can't convert config with " + c.key + "=" + c.shown + ". Only " +
                           c.only + " is supported."),
                  std::string::npos)
            << c.key << ": " << err;
    }
}

TEST(LlamaConfigErrors, CsPreDefaultsContradictAssertions)
{
    // The Model Zoo fills missing CS keys with GPT-2 values that llama then refuses (quirk 3).
    EXPECT_NE(cs_to_hf_fails(cs_yaml("position_embedding_type", "", true)).find("position_embedding_type=learned"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("norm_type", "", true)).find("norm_type=layernorm"), std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("nonlinearity", "", true)).find("gelu is not a supported GLU activation in HF"),
              std::string::npos);
}

TEST(LlamaConfigErrors, CsCustomRules)
{
    EXPECT_NE(cs_to_hf_fails(cs_yaml("nonlinearity", "relu")).find("relu is not a supported GLU activation in HF"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("rotary_dim", "", true)).find("ConfigConversionError: rotary_dim must be specified"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("rotary_dim", "null")).find("rotary_dim must be specified"), std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("rotary_dim", "8"))
                  .find("rotary_dim must be hidden_size // num_heads in order to be compatible with HF"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("attention_module", "aiayn_attention"))
                  .find("Conflict between use of multi-query and multi-head attention"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("attention_module", "sparse_attention"))
                  .find("attention_module sparse_attention is not supported for llama"),
              std::string::npos);
    EXPECT_NE(cs_to_hf_fails(cs_yaml("extra_attention_params", "{num_kv_groups: 3}"))
                  .find("number of attention heads should be divisible by num_key_value_heads but got 4 and 3."),
              std::string::npos);
}

TEST(LlamaConfigErrors, HfRules)
{
    EXPECT_NE(hf_to_cs_fails(hf_json("hidden_act", "\"tanh\"")).find("tanh is not a GLU-able activation in CS"),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("model_type", "\"mistral\""))
                  .find("Can't convert config with model_type=mistral. Only llama is supported."),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("norm_type", "\"rmsnorm\"")).find("norm_type should not appear in the config"),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("use_rms_norm", "true")).find("use_rms_norm should not appear in the config"),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("rotary_dim", "16")).find("rotary_dim should only exist in CS config"),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("num_key_value_heads", "3"))
                  .find("number of attention heads should be divisible by num_key_value_heads but got 4 and 3,"),
              std::string::npos);
    EXPECT_NE(hf_to_cs_fails(hf_json("rope_scaling", "{\"type\": \"dynamic\", \"factor\": 2.0}"))
                  .find("Only `rope_scaling` type `linear`, `yarn`,`llama3` or 'longrope' are currently supported, "
                        "but got type `dynamic`."),
              std::string::npos);
    EXPECT_NE(fails("mistral", "hf", "cs-2.3", hf_json("sliding_window", "32", "llama"))
                  .find("Can't convert config with model_type=llama. Only mistral is supported."),
              std::string::npos);
}

TEST(LlamaConfigErrors, Cs20ToCs19NormType)
{
    const std::string err = fails("llama", "cs-2.0", "cs-1.9", cs_yaml("norm_type", "layernorm-biasless"));
    EXPECT_NE(err.find("ConfigConversionError: Can't convert config with norm_type=layernorm-biasless"),
              std::string::npos)
        << err;
}

} // namespace
} // namespace ckpt::test::llama
