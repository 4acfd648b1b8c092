// SPDX-License-Identifier: Apache-2.0
// What is BTLM's and JAIS's own beyond the conformance rows: every config key their CS model
// keeps round-trips (listed), the muP width multiplier outside the model section, ALiBi scaling,
// the refusals with the Model Zoo's wording, release gates and the model names in `list`.
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

/// A BTLM-style HF config with every key the CS model keeps set away from its default.
std::string hf_config(const std::string& model_type)
{
    return R"({"activation_function": "swiglu", "alibi_scaling": {"type": "linear", "factor": 2.0},
  "attn_pdrop": 0.1, "embd_pdrop": 0.2, "initializer_range": 0.073, "layer_norm_epsilon": 1e-05,
  "model_type": ")" + model_type + R"(", "mup_embeddings_scale": 14.6, "mup_output_alpha": 2.22,
  "mup_scale_qk_dot_by_d": true, "mup_width_scale": 0.25, "n_embd": 64, "n_head": 4, "n_inner": 170,
  "n_layer": 2, "n_positions": 64, "position_embedding_type": "alibi", "resid_pdrop": 0.3,
  "scale_attn_by_inverse_layer_idx": true, "scale_attn_weights": false, "tie_word_embeddings": false,
  "vocab_size": 128})";
}

/// The HF keys that reach a key the CS model keeps (ConfigConverter_BTLMModel_HF_CS21's copied
/// and converted rows), and the CS keys they become (decoder_kernel: the optimizer section).
const char* const kHfKeys[] = {"activation_function", "alibi_scaling", "attn_pdrop", "embd_pdrop",
                               "initializer_range", "layer_norm_epsilon", "model_type", "mup_embeddings_scale",
                               "mup_output_alpha", "mup_scale_qk_dot_by_d", "mup_width_scale", "n_embd", "n_head",
                               "n_inner", "n_layer", "n_positions", "position_embedding_type", "resid_pdrop",
                               "scale_attn_by_inverse_layer_idx", "scale_attn_weights", "tie_word_embeddings",
                               "vocab_size"};
const char* const kCsKeys[] = {"attention_dropout_rate", "attention_type", "dropout_rate", "embedding_dropout_rate",
                               "embeddings_scale", "filter_size", "hidden_size", "initializer_range",
                               "layer_norm_epsilon", "max_position_embeddings", "nonlinearity", "num_heads",
                               "num_hidden_layers", "output_logits_scale", "pos_scaling_factor",
                               "position_embedding_type", "scale_qk_dot_by_d", "scale_qk_dot_by_layer_idx",
                               "share_embedding_weights", "use_bias_in_output", "vocab_size"};

struct Trip {
    RunResult there, back;
    fs::path cs, hf;
};

/// `text` (an HF config.json) to cs-2.3 and back through convert-config.
Trip hf_cs_hf(const std::string& model, const std::string& text, const TempDir& dir)
{
    write_file(dir / "config.json", text);
    Trip t;
    t.there = convert_config(model, "hf", "cs-2.3", dir / "config.json", dir / "cs");
    t.cs = dir / "cs/config_to_cs-2.3.yaml";
    t.back = convert_config(model, "cs-2.3", "hf", t.cs, dir / "hf");
    t.hf = dir / "hf/config_to_cs-2.3_to_hf.json";
    return t;
}

class BtlmStyleConfig : public ::testing::TestWithParam<const char*> {};

TEST_P(BtlmStyleConfig, EveryKeyTheCsModelKeepsRoundTrips)
{
    const std::string model = GetParam();
    TempDir dir;
    const Trip t = hf_cs_hf(model, hf_config(model), dir);
    ASSERT_EQ(t.there.exit_code, 0) << t.there.err;
    ASSERT_EQ(t.back.exit_code, 0) << t.back.err;
    const Node original = config(dir / "config.json"), back = config(t.hf), cs = config(t.cs);
    for (const char* k : kHfKeys) {
        ASSERT_TRUE(back.find(k)) << k << "\n" << read_file(t.hf);
        EXPECT_EQ(*back.find(k), *original.find(k)) << k << "\n" << read_file(t.hf);
    }
    const Node* model_section = cs.find("model");
    ASSERT_TRUE(model_section);
    for (const char* k : kCsKeys)
        EXPECT_TRUE(model_section->find(k)) << k << "\n" << read_file(t.cs);
    EXPECT_EQ(model_section->find("output_logits_scale")->as_float(), 2.22 * 0.25);
    EXPECT_EQ(model_section->find("pos_scaling_factor")->as_float(), 2.0);
    const Node* optimizer = cs.find("optimizer");
    ASSERT_TRUE(optimizer) << read_file(t.cs);
    EXPECT_EQ(optimizer->find("adjust_learning_rate")->find("decoder_kernel")->as_float(), 0.25);

    // And the CS config itself comes back unchanged from HF.
    TempDir again;
    ASSERT_EQ(convert_config(model, "hf", "cs-2.3", t.hf, again / "cs").exit_code, 0);
    EXPECT_EQ(read_file(again / "cs/config_to_cs-2.3_to_hf_to_cs-2.3.yaml"), read_file(t.cs));
}

INSTANTIATE_TEST_SUITE_P(Families, BtlmStyleConfig, ::testing::Values("btlm", "jais"));

/// A CS model section (the reference's) with `extra` appended to the file.
std::string cs_yaml(const std::string& extra)
{
    return read_file(ref("btlm", "hf_to_cs/config_to_cs-2.3.yaml")).substr(0, read_file(ref("btlm", "hf_to_cs/config_to_cs-2.3.yaml")).find("optimizer:")) + extra;
}

TEST(BtlmConfig, MissingDecoderKernelWarnsAndDefaultsToOne)
{
    const ConfigOutcome o = convert_config_text("btlm", "cs-2.3", cs_yaml(""));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.err.find("The provided config is missing the following muP parameter"), std::string::npos) << o.err;
    EXPECT_NE(o.output.find("\"mup_output_alpha\": 0.555,\n    \"mup_width_scale\": 1.0,"), std::string::npos)
        << o.output;
}

TEST(BtlmConfig, ReadsDecoderKernelFromTheTrainerLayout)
{
    std::string model = cs_yaml("");
    std::string indented;
    for (size_t at = model.find('\n') + 1; at < model.size();) {
        const size_t end = model.find('\n', at);
        indented += "            " + model.substr(at, end - at + 1);
        at = end + 1;
    }
    const std::string trainer = "trainer:\n    init:\n        model:\n" + indented +
                                "        optimizer:\n            adjust_learning_rate:\n                decoder_kernel: 0.25\n";
    const ConfigOutcome o = convert_config_text("btlm", "cs-2.3", trainer);
    ASSERT_EQ(o.exit_code, 0) << o.err << trainer;
    EXPECT_NE(o.output.find("\"mup_output_alpha\": 2.22,\n    \"mup_width_scale\": 0.25,"), std::string::npos)
        << o.output;
}

TEST(BtlmConfig, Cs23MupKeysGiveTheHfMupValues)
{
    // The host's cs-2.2 -> cs-2.3 step rewrites the muP keys (mup_base_*, output_logits_alpha) and
    // drops decoder_kernel; BTLM's HF config still gets alpha 2.22 and width 0.25 back from them.
    TempDir dir;
    ASSERT_EQ(convert_config("btlm", "cs-2.2", "cs-2.3", ref("btlm", "hf_to_cs/config_to_cs-2.3.yaml"), dir / "up")
                  .exit_code,
              0);
    const fs::path up = dir / "up/config_to_cs-2.3_to_cs-2.3.yaml";
    const std::string yaml = read_file(up);
    ASSERT_NE(yaml.find("mup_base_hidden_size: 16.0"), std::string::npos) << yaml;
    ASSERT_EQ(yaml.find("decoder_kernel"), std::string::npos) << yaml;
    const RunResult r = convert_config("btlm", "cs-2.3", "hf", up, dir / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("missing the following muP parameter"), std::string::npos) << r.err;
    const Node hf = config(dir / "hf/config_to_cs-2.3_to_cs-2.3_to_hf.json");
    EXPECT_EQ(hf.find("mup_output_alpha")->as_float(), 2.22);
    EXPECT_EQ(hf.find("mup_width_scale")->as_float(), 0.25);
    EXPECT_EQ(hf.find("mup_embeddings_scale")->as_float(), 14.6);

    std::string qk = yaml;
    qk.replace(qk.find("mup_base_hidden_size"), 0, "attention_logits_alpha: 2.0\n            ");
    expect_config_refused("btlm", "cs-2.3", qk,
                          "Can't convert config with attention_logits_alpha=2.0: the HF model has no query-key "
                          "multiplier. Only 1.0 is supported.");
    std::string filter = yaml;
    filter.replace(filter.find("mup_base_filter_size: 42.5"), 26, "mup_base_filter_size: 40.0");
    expect_config_refused("btlm", "cs-2.3", filter,
                          "Can't convert config with mup_base_filter_size / filter_size = 0.23529411764705882 and "
                          "mup_base_hidden_size / hidden_size = 0.25: the HF model has one width multiplier "
                          "(mup_width_scale) for both");
}

TEST(BtlmConfig, FamiliesWithoutTheKeyNeverWriteDecoderKernel)
{
    // The host shows optimizer.adjust_learning_rate.decoder_kernel to every CS -> HF converter;
    // one that does not know it (gpt2) drops it, and gives what it gives without the section.
    const std::string model = read_file(ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"));
    const ConfigOutcome plain = convert_config_text("gpt2", "cs-2.3", model);
    const ConfigOutcome with = convert_config_text(
        "gpt2", "cs-2.3", model + "optimizer:\n    adjust_learning_rate:\n        decoder_kernel: 0.25\n");
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    ASSERT_EQ(with.exit_code, 0) << with.err;
    EXPECT_EQ(with.output, plain.output);
    EXPECT_EQ(with.output.find("decoder_kernel"), std::string::npos) << with.output;
}

TEST(BtlmConfig, RefusalsUseTheModelZooWording)
{
    const std::string base = hf_config("btlm");
    auto with = [&base](const std::string& from, const std::string& to) {
        std::string s = base;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    expect_config_refused("btlm", "hf",
                          with(R"("factor": 2.0})", R"("factor": 2.0, "train_seq_len": 2048})"),
                          "Only `alibi_scaling` fixed linear scaling is currently supported, but got train_seq_len is "
                          "`2048` which requires support for dynamic linear scaling.");
    expect_config_refused("btlm", "hf", with(R"("model_type": "btlm")", R"("model_type": "gpt2")"),
                          "Can't convert config with model_type=gpt2. Only btlm is supported.");
    expect_config_refused("jais", "hf", hf_config("btlm"), "Can't convert config with model_type=btlm. Only jais is supported.");
    expect_config_refused("btlm", "hf", with(R"("scale_attn_weights": false)", R"("reorder_and_upcast_attn": true)"),
                          "Can't convert config with reorder_and_upcast_attn=True. Only False is supported.");
    expect_config_refused("btlm", "cs-2.3", cs_yaml("") + "    norm_type: rmsnorm\n",
                          "Can't convert config with norm_type=rmsnorm. Only layernorm is supported.");
    expect_config_refused("btlm", "cs-2.3", cs_yaml("optimizer:\n    adjust_learning_rate:\n        decoder_kernel: 0\n"),
                          "Can't convert config with decoder_kernel=0: the muP width multiplier must be a finite non-zero number");
}

TEST(BtlmReleases, Cs24NamesTheModelAndDropsMixedPrecision)
{
    for (const std::string model : {"btlm", "btlm-headless", "jais"}) {
        TempDir dir;
        write_file(dir / "config.json", hf_config(model == "jais" ? "jais" : "btlm"));
        ASSERT_EQ(convert_config(model, "hf", "cs-2.4", dir / "config.json", dir / "out").exit_code, 0);
        const Node cs = config(dir / "out/config_to_cs-2.4.yaml");
        EXPECT_EQ(cs.find("model")->find("name")->as_string(), model == "jais" ? "jais" : "btlm");
        EXPECT_FALSE(cs.find("model")->find("mixed_precision"));
        EXPECT_TRUE(cs.find("optimizer"));
        ASSERT_EQ(convert_config(model, "hf", "cs-2.1", dir / "config.json", dir / "old").exit_code, 0);
        const Node old = config(dir / "old/config_to_cs-2.1.yaml");
        EXPECT_FALSE(old.find("model")->find("name"));
        EXPECT_TRUE(old.find("model")->find("mixed_precision"));
    }
}

TEST(BtlmList, ShowsEveryModelName)
{
    RunResult r = cli({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"btlm", "btlm-headless", "jais"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
    // No Model Zoo release registers a headless JAIS.
    EXPECT_EQ(r.out.find("jais-headless"), std::string::npos);
}

} // namespace
} // namespace ckpt::test
