// SPDX-License-Identifier: Apache-2.0
// The gpt2 plugin through the real CLI: --debug lines, the headless forms, malformed tensors and
// the model-specific CS release steps (the Model Zoo references and round trips are rows of
// tests/conformance/conformance_test.cpp).
#include <gtest/gtest.h>

#include "checkpoint_support.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ckpt::test::gpt2 {
namespace {

/// The `key: value` lines of the model section of a CS YAML, whichever layout (model: or
/// trainer.init.model:) holds it.
std::vector<std::string> model_section_lines(const std::string& yaml)
{
    std::istringstream in(yaml);
    std::string line;
    std::vector<std::string> out;
    size_t parent = std::string::npos, indent = std::string::npos;
    while (std::getline(in, line)) {
        const size_t first = line.find_first_not_of(' ');
        if (parent == std::string::npos) {
            if (first != std::string::npos && line.substr(first) == "model:")
                parent = first;
            continue;
        }
        if (first == std::string::npos || first <= parent)
            break;
        if (indent == std::string::npos)
            indent = first;
        out.push_back(line.substr(std::min(first, indent)));
    }
    return out;
}

TEST(Gpt2Plugin, HfToCs24AddsRegistryName)
{
    TempDir tmp;
    RunResult r = cli({"convert-config", "--model", "gpt2-headless", "--src-fmt", "hf", "--tgt-fmt", "cs-2.4",
                       hf("gpt2", "bin/config.json").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "config_to_cs-2.4.yaml");
    EXPECT_NE(yaml.find("\n    name: gpt2\n"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("mixed_precision"), std::string::npos) << yaml;
}

// The Model Zoo regenerates the attention buffers; by design ckptconv does not (design.md §5).
TEST(Gpt2Plugin, HfOutputHasNoLegacyAttentionBuffers)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "cs-2.3", "hf", ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("gpt2", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path reference = ref("gpt2", "cs_to_hf_bin/pytorch_model_to_cs-2.3_to_hf");
    EXPECT_EQ(compare(model_tensors(tmp / "pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json"),
                      model_tensors(reference / "pytorch_model.bin.index.json")),
              "only right: transformer.h.0.attn.bias\nonly right: transformer.h.0.attn.masked_bias\n"
              "only right: transformer.h.1.attn.bias\nonly right: transformer.h.1.attn.masked_bias\n");
}

TEST(Gpt2Plugin, DebugPrintsTheModelZoosMatchedLines)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf("gpt2", "bin/config.json"), hf("gpt2", "bin/pytorch_model.bin"), tmp / "a",
                          {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(matched_lines(r.err), matched_lines(read_file(ref("gpt2", "logs/hf_to_cs_debug.log"))));
    r = convert("gpt2", "cs-2.3", "hf", ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"), ref("gpt2", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"),
                tmp / "b", {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto want = matched_lines(read_file(ref("gpt2", "logs/cs_to_hf_debug.log")));
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(matched_lines(r.err), want);
}

TEST(Gpt2Plugin, HeadlessRoundTripRebuildsTheTiedHead)
{
    TempDir tmp;
    RunResult r = convert("gpt2-headless", "cs-2.3", "hf", ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("gpt2", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
    auto tensors = model_tensors(out / "pytorch_model.bin.index.json");
    EXPECT_TRUE(tensors.count("wte.weight"));
    EXPECT_TRUE(tensors.count("h.1.attn.c_attn.weight"));
    EXPECT_FALSE(tensors.count("lm_head.weight"));
    EXPECT_NE(read_file(out / "config.json").find("\"GPT2Model\""), std::string::npos);
    r = convert("gpt2-headless", "hf", "cs-2.3", out / "config.json", out / "pytorch_model.bin.index.json", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "cs/pytorch_model_to_cs-2.3.mdl", ref("gpt2", "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
}

TEST(Gpt2Plugin, HeadlessUntiedGetsAFreshHead)
{
    TempDir tmp;
    RunResult r = convert("gpt2-headless", "cs-2.3", "hf", ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("gpt2", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
    std::string cfg = read_file(out / "config.json");
    const std::string tied = "\"tie_word_embeddings\": true";
    ASSERT_NE(cfg.find(tied), std::string::npos);
    cfg.replace(cfg.find(tied), tied.size(), "\"tie_word_embeddings\": false");
    write_file(tmp / "untied.json", cfg);
    r = convert("gpt2-headless", "hf", "cs-2.3", tmp / "untied.json", out / "pytorch_model.bin.index.json", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto cs = model_tensors(tmp / "cs/pytorch_model_to_cs-2.3.mdl");
    ASSERT_TRUE(cs.count("lm_head.weight"));
    EXPECT_EQ(cs["lm_head.weight"]->info().shape, (std::vector<int64_t>{128, 64}));
    auto v = floats(cs["lm_head.weight"]);
    double sum = 0, sq = 0;
    for (float x : v) {
        sum += x;
        sq += double(x) * x;
    }
    const double mean = sum / v.size(), sd = std::sqrt(sq / v.size() - mean * mean);
    EXPECT_NEAR(mean, 0.0, 0.002);
    EXPECT_NEAR(sd, 0.02, 0.002);
    EXPECT_FALSE(equal_bytes(*cs["lm_head.weight"], *cs["embedding_layer.word_embeddings.weight"]));
    EXPECT_NE(read_file(tmp / "cs/untied_to_cs-2.3.yaml").find("share_embedding_weights: false"), std::string::npos);
    // Reproducible: a second run draws the same head.
    r = convert("gpt2-headless", "hf", "cs-2.3", tmp / "untied.json", out / "pytorch_model.bin.index.json", tmp / "again");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "again/pytorch_model_to_cs-2.3.mdl", tmp / "cs/pytorch_model_to_cs-2.3.mdl"));
}

TEST(Gpt2Plugin, MalformedTensorsAreReportedByName)
{
    struct Case {
        std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
        std::string tensor, words;
    };
    // Each case is the fixture with one tensor changed or added: shapes the config contradicts
    // are caught before the rules run; a tensor the rules refuse is reported by them.
    const std::vector<Case> cases = {
        {{{"transformer.h.0.attn.c_attn.weight", {4, 10}}}, "transformer.h.0.attn.c_attn.weight",
         "has shape [4, 10], the config implies [64, 192]"},
        {{{"transformer.h.0.attn.c_attn.bias", {10}}}, "transformer.h.0.attn.c_attn.bias",
         "has shape [10], the config implies [192]"},
        {{{"transformer.h.0.attn.q_attn.weight", {64, 64}}}, "transformer.h.0.attn.q_attn.weight", "cross-attention"},
    };
    std::vector<std::pair<std::string, std::vector<int64_t>>> fixture;
    for (const auto& [name, t] : ckpt::test::model_tensors(hf("gpt2", "safetensors/model.safetensors")))
        fixture.emplace_back(name, t->info().shape);
    for (const Case& c : cases) {
        TempDir tmp;
        auto tensors = fixture;
        for (const auto& changed : c.tensors) {
            auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == changed.first; });
            if (it != tensors.end())
                it->second = changed.second;
            else
                tensors.push_back(changed);
        }
        write_patterned_safetensors(tmp / "model.safetensors", tensors);
        RunResult r = convert("gpt2", "hf", "cs-2.3", hf("gpt2", "bin/config.json"), tmp / "model.safetensors", tmp / "out");
        EXPECT_NE(r.exit_code, 0) << c.tensor;
        EXPECT_NE(r.err.find(c.tensor), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.words), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(tmp / "out/model_to_cs-2.3.mdl"));
    }
}

// ---- CS release steps -----------------------------------------------------------------------

// A whole training checkpoint: model, optimizer, scheduler, step and the recorded config
// (__metadata__ params, in the trainer layout) equal the Model Zoo's, and so does the YAML.
TEST(Gpt2Plugin, Cs22ToCs23TrainStateMatchesReference)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "cs-2.2", "cs-2.3", ref("gpt2", "input_cs22_train/params_gpt2_tiny.yaml"),
                          ref("gpt2", "input_cs22_train/checkpoint_10.mdl"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = cli({"diff", "--json", (tmp / "checkpoint_10_to_cs-2.3.mdl").string(),
             ref("gpt2", "cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl").string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // Every entry, __metadata__ (with the recorded trainer-layout params) included.
    EXPECT_NE(r.out.find("\"same\": true,"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(tmp / "params_gpt2_tiny_to_cs-2.3.yaml"),
              read_file(ref("gpt2", "cs22_to_cs23_train_state/params_gpt2_tiny_to_cs-2.3.yaml")));
}

TEST(Gpt2Plugin, Cs20ToCs23InOneCommandEqualsStepByStep)
{
    TempDir tmp;
    const fs::path cfg = ref("gpt2", "cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml");
    const fs::path ck = ref("gpt2", "cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl");
    RunResult r = convert("gpt2", "cs-2.0", "cs-2.3", cfg, ck, tmp / "dry", {"--dry-run"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A release upgrade never detours through Hugging Face.
    EXPECT_EQ(r.out.find("-> hf"), std::string::npos) << r.out;
    r = convert("gpt2", "cs-2.0", "cs-2.3", cfg, ck, tmp / "one");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    fs::path step_cfg = cfg, step_ck = ck;
    const char* chain[] = {"cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3"};
    for (int i = 0; i < 3; ++i) {
        const fs::path dir = tmp / ("step" + std::to_string(i));
        r = convert("gpt2", chain[i], chain[i + 1], step_cfg, step_ck, dir);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        step_cfg = only_file(dir, ".yaml");
        step_ck = only_file(dir, ".mdl");
    }
    EXPECT_TRUE(same_checkpoint(only_file(tmp / "one", ".mdl"), step_ck));
    EXPECT_EQ(read_file(only_file(tmp / "one", ".yaml")), read_file(step_cfg));
}

TEST(Gpt2Plugin, Cs19ToCs20RepairsTiesAndNormType)
{
    TempDir tmp;
    // A checkpoint without lm_head (the safetensors fixture omits the tied alias), as cs-1.9.
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf("gpt2", "safetensors/config.json"), hf("gpt2", "safetensors/model.safetensors"),
                          tmp / "src");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string yaml = read_file(tmp / "src/config_to_cs-2.3.yaml");
    yaml += "    use_rms_norm: false\n";
    write_file(tmp / "cs19.yaml", yaml);
    r = convert("gpt2", "cs-1.9", "cs-2.0", tmp / "cs19.yaml", tmp / "src/model_to_cs-2.3.mdl", tmp / "up");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto t = model_tensors(tmp / "up/model_to_cs-2.3_to_cs-2.0.mdl");
    ASSERT_TRUE(t.count("lm_head.weight"));
    EXPECT_TRUE(equal_bytes(*t["lm_head.weight"], *t["embedding_layer.word_embeddings.weight"]));
    const std::string up = read_file(tmp / "up/cs19_to_cs-2.0.yaml");
    EXPECT_NE(up.find("\n    norm_type: layernorm\n"), std::string::npos) << up;
    EXPECT_EQ(up.find("use_rms_norm"), std::string::npos) << up;

    r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-1.9",
             (tmp / "up/cs19_to_cs-2.0.yaml").string(), "--output-dir", (tmp / "down").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string down = read_file(tmp / "down/cs19_to_cs-2.0_to_cs-1.9.yaml");
    EXPECT_NE(down.find("\n    use_rms_norm: false\n"), std::string::npos) << down;
    EXPECT_EQ(down.find("norm_type"), std::string::npos) << down;
}

TEST(Gpt2Plugin, ReleaseStepConfigRewrites)
{
    TempDir tmp;
    std::string base = read_file(ref("gpt2", "hf_to_cs/config_to_cs-2.3.yaml"));
    write_file(tmp / "c20.yaml", base + "    use_bfloat16: true\n");
    RunResult r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-2.1",
                       (tmp / "c20.yaml").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string y = read_file(tmp / "c20_to_cs-2.1.yaml");
    EXPECT_NE(y.find("\n    fp16_type: bfloat16\n"), std::string::npos) << y;
    EXPECT_EQ(y.find("use_bfloat16"), std::string::npos) << y;

    write_file(tmp / "c22.yaml", base + "    use_position_embedding: true\n    alibi_implementation: embedding\n"
                                        "    weight_initialization_seed: 3\n");
    r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "cs-2.2", "--tgt-fmt", "cs-2.3",
             (tmp / "c22.yaml").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(model_section_lines(read_file(tmp / "c22_to_cs-2.3.yaml")), model_section_lines(base));

    write_file(tmp / "c19.yaml", base + "    use_rms_norm: true\n");
    r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "cs-1.9", "--tgt-fmt", "cs-2.0",
             (tmp / "c19.yaml").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(read_file(tmp / "c19_to_cs-2.0.yaml").find("\n    norm_type: rmsnorm\n"), std::string::npos);
}

} // namespace
} // namespace ckpt::test::gpt2
