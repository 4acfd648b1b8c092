// SPDX-License-Identifier: Apache-2.0
// muP -> sP on CS -> HF folds the scale factors of spec/modelzoo-converter.md §5.1 into the
// weights (a synthetic muP checkpoint: the HF fixture converted to cs-2.3 with a muP YAML), and a
// cs-2.2 muP checkpoint upgraded to cs-2.3 folds to the same weights.
#include <gtest/gtest.h>

#include "gpt2.hpp"
#include "checkpoint_support.hpp"

#include "core/node.hpp"
#include "plugins/host_services.hpp"

#include <cmath>

namespace ckpt::test::gpt2 {
namespace {

/// Element-wise: every value of `got` equals float(orig) * float(factor) over `cols` of each row
/// (all columns when `cols` is {0, 0}).
void expect_scaled(const TensorPtr& got, const TensorPtr& orig, float factor, std::pair<int64_t, int64_t> cols = {0, 0},
                   const char* what = "")
{
    auto g = floats(got), o = floats(orig);
    ASSERT_EQ(g.size(), o.size()) << what;
    const auto& shape = orig->info().shape;
    const int64_t width = shape.empty() ? 1 : shape.back();
    size_t checked = 0, mismatches = 0;
    for (size_t i = 0; i < g.size(); ++i) {
        const int64_t c = static_cast<int64_t>(i) % width;
        const bool in = cols.first == cols.second || (c >= cols.first && c < cols.second);
        const float want = in ? o[i] * factor : o[i];
        if (g[i] != want)
            ++mismatches;
        ++checked;
    }
    EXPECT_EQ(mismatches, 0u) << what << ": " << mismatches << " of " << checked << " values differ";
}

class Gpt2Mup : public ::testing::Test {
protected:
    void SetUp() override
    {
        const RunResult r = convert("gpt2", "hf", "cs-2.3", hf("gpt2", "bin/config.json"),
                                    hf("gpt2", "bin/pytorch_model.bin"), tmp / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        base_yaml = read_file(tmp / "cs/config_to_cs-2.3.yaml");
        orig = model_tensors(hf("gpt2", "bin/pytorch_model.bin"));
    }

    /// Converts the cs-2.3 checkpoint to HF with `extra` YAML lines in the model section.
    std::map<std::string, TensorPtr> to_hf(const std::string& extra, std::string* config_json)
    {
        write_file(tmp / "mup.yaml", base_yaml + extra);
        RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                           (tmp / "mup.yaml").string(), (tmp / "cs/pytorch_model_to_cs-2.3.mdl").string(),
                           "--output-dir", (tmp / "hf").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
        *config_json = read_file(out / "config.json");
        return model_tensors(out / "pytorch_model.bin.index.json");
    }

    void expect_folded(const std::map<std::string, TensorPtr>& got, float k, float lm, float emb)
    {
        const int64_t d = 64; // n_embd; c_attn is [d, 3d] = q | k | v columns
        for (const char* layer : {"0", "1"}) {
            const std::string p = std::string("transformer.h.") + layer + ".attn.c_attn.";
            expect_scaled(got.at(p + "weight"), orig.at(p + "weight"), k, {d, 2 * d}, "c_attn.weight");
            expect_scaled(got.at(p + "bias"), orig.at(p + "bias"), k, {d, 2 * d}, "c_attn.bias");
            const std::string proj = std::string("transformer.h.") + layer + ".mlp.c_fc.weight";
            EXPECT_TRUE(equal_bytes(*got.at(proj), *orig.at(proj)));
        }
        expect_scaled(got.at("lm_head.weight"), orig.at("lm_head.weight"), lm, {0, 0}, "lm_head");
        expect_scaled(got.at("transformer.wte.weight"), orig.at("transformer.wte.weight"), emb, {0, 0}, "wte");
        expect_scaled(got.at("transformer.wpe.weight"), orig.at("transformer.wpe.weight"), emb, {0, 0}, "wpe");
    }

    TempDir tmp;
    std::string base_yaml;
    std::map<std::string, TensorPtr> orig;
};

TEST_F(Gpt2Mup, PostCs23KeysFoldIntoWeights)
{
    std::string cfg;
    // w = 64 / 32 = 2; d_head = 16: k x 0.5 / 4, lm_head x 3 / 2, embeddings x 10.
    auto got = to_hf("    mup_base_hidden_size: 32\n    mup_base_filter_size: 64\n    attention_logits_alpha: 0.5\n"
                     "    output_logits_alpha: 3.0\n    embeddings_scale: 10.0\n    scale_qk_dot_by_d: true\n",
                     &cfg);
    expect_folded(got, 0.125f, 1.5f, 10.0f);
    EXPECT_NE(cfg.find("\"tie_word_embeddings\": false"), std::string::npos) << cfg;
    for (const char* gone : {"mup_base", "logits_alpha", "embeddings_scale", "scale_qk_dot_by_d"})
        EXPECT_EQ(cfg.find(gone), std::string::npos) << gone << "\n" << cfg;
}

TEST_F(Gpt2Mup, PostCs23DefaultsAndSqrtWidth)
{
    std::string cfg;
    // scale_qk_dot_by_d defaults to true, alphas to 1; scale_output_logits_by_d false -> / sqrt(w), w = 4.
    auto got = to_hf("    mup_base_hidden_size: 16\n    scale_output_logits_by_d: false\n", &cfg);
    expect_folded(got, 0.25f, 0.5f, 1.0f);
}

TEST_F(Gpt2Mup, PreCs23KeysFoldIntoWeights)
{
    std::string cfg;
    auto got = to_hf("    output_logits_scale: 0.25\n    embeddings_scale: 2.0\n    scale_qk_dot_by_d: true\n", &cfg);
    expect_folded(got, 0.25f, 0.25f, 2.0f);
    EXPECT_NE(cfg.find("\"tie_word_embeddings\": false"), std::string::npos) << cfg;
    EXPECT_EQ(cfg.find("output_logits_scale"), std::string::npos) << cfg;
}

TEST_F(Gpt2Mup, TiedMupCheckpointWithoutLmHeadGetsAFoldedHead)
{
    // The safetensors fixture has no lm_head; the folded sP model is untied, so it needs one.
    RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       hf("gpt2", "safetensors/config.json").string(), hf("gpt2", "safetensors/model.safetensors").string(),
                       "--output-dir", (tmp / "st").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    write_file(tmp / "st.yaml", base_yaml + "    mup_base_hidden_size: 32\n    embeddings_scale: 10.0\n");
    r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (tmp / "st.yaml").string(), (tmp / "st/model_to_cs-2.3.mdl").string(), "--output-dir",
             (tmp / "sthf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto got = model_tensors(tmp / "sthf/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    ASSERT_TRUE(got.count("lm_head.weight"));
    expect_scaled(got.at("lm_head.weight"), orig.at("transformer.wte.weight"), 0.5f, {0, 0}, "lm_head");
    expect_scaled(got.at("transformer.wte.weight"), orig.at("transformer.wte.weight"), 10.0f, {0, 0}, "wte");
}

// cs-2.2 muP keys become cs-2.3 muP keys in a release upgrade (the host's step, which reads
// optimizer.adjust_learning_rate), and the upgraded checkpoint folds to the same HF weights.
TEST_F(Gpt2Mup, Cs22MupUpgradeFoldsLikeTheOriginal)
{
    write_file(tmp / "mup22.yaml", base_yaml +
                                       "    output_logits_scale: 0.25\n    embeddings_scale: 2.0\n    scale_qk_dot_by_d: true\n"
                                       "optimizer:\n    optimizer_type: adamw\n    learning_rate: 0.001\n"
                                       "    adjust_learning_rate:\n        decoder_kernel: 0.5\n");
    RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.2", "--tgt-fmt", "cs-2.3", "--config",
                       (tmp / "mup22.yaml").string(), (tmp / "cs/pytorch_model_to_cs-2.3.mdl").string(),
                       "--output-dir", (tmp / "up").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "up/mup22_to_cs-2.3.yaml");
    // Width 2: alpha = 0.25 * 2, base sizes = 64 / 2 and 128 / 2.
    for (const char* want : {"trainer:\n", "            output_logits_alpha: 0.5\n", "            mup_base_hidden_size: 32.0\n",
                             "            mup_base_filter_size: 64.0\n", "            scale_qk_dot_by_d: true\n",
                             "            adamw:\n", "        -   ConstantLR:\n"})
        EXPECT_NE(yaml.find(want), std::string::npos) << want << "\n" << yaml;
    for (const char* gone : {"output_logits_scale", "adjust_learning_rate", "ScalePerParamLR"})
        EXPECT_EQ(yaml.find(gone), std::string::npos) << gone << "\n" << yaml;

    r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (tmp / "up/mup22_to_cs-2.3.yaml").string(), (tmp / "up/pytorch_model_to_cs-2.3_to_cs-2.3.mdl").string(),
             "--output-dir", (tmp / "hf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto got = model_tensors(tmp / "hf/pytorch_model_to_cs-2.3_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    expect_folded(got, 0.25f, 0.25f, 2.0f); // what PreCs23KeysFoldIntoWeights gets from the cs-2.2 keys
}

} // namespace
} // namespace ckpt::test::gpt2
