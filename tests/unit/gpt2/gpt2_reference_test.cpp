// SPDX-License-Identifier: Apache-2.0
// The gpt2 plugin through the real CLI against the Model Zoo's own outputs (tests/data/cs-ref/gpt2,
// copied from the shared fixtures): HF -> CS from every HF container, the round trip, configs,
// --debug lines and the model-specific CS release steps.
#include <gtest/gtest.h>

#include "gpt2_test_util.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ckpt::test::gpt2 {
namespace {

fs::path only_file_with_suffix(const fs::path& dir, const std::string& suffix)
{
    fs::path found;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            EXPECT_TRUE(found.empty()) << "two outputs ending in " << suffix << " in " << dir;
            found = e.path();
        }
    }
    EXPECT_FALSE(found.empty()) << "no output ending in " << suffix << " in " << dir;
    return found;
}

RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"convert",      "--model", model,         "--src-fmt",     src,
                                  "--tgt-fmt",    tgt,       "--config",    config.string(), ckpt.string(),
                                  "--output-dir", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args);
}

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

/// The reference HF config plus the architectures entry ckptconv adds (design.md §5).
/// The reference config.json plus what ckptconv adds for current transformers (design.md §5):
/// `architectures`, and — when tensors were written — `torch_dtype` of those tensors.
std::string expected_hf_config(const std::string& reference, const std::string& arch,
                               const char* torch_dtype = nullptr)
{
    const std::string last = "\"model_type\": \"gpt2\"\n}";
    const size_t at = reference.rfind(last);
    EXPECT_NE(at, std::string::npos);
    std::string out = reference.substr(0, at) + "\"model_type\": \"gpt2\",\n    \"architectures\": [\n        \"" +
                      arch + "\"\n    ]";
    if (torch_dtype)
        out += std::string(",\n    \"torch_dtype\": \"") + torch_dtype + "\"";
    return out + "\n}";
}

struct HfInput {
    const char* dir;
    const char* file;
    const char* reference; // the Model Zoo's output for the same weights
};

class Gpt2HfToCs : public ::testing::TestWithParam<HfInput> {};

TEST_P(Gpt2HfToCs, MatchesModelZooReference)
{
    const HfInput in = GetParam();
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf(std::string(in.dir) + "/config.json"),
                          hf(std::string(in.dir) + "/" + in.file), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(only_file_with_suffix(tmp.path(), ".mdl"), ref(in.reference)));
    EXPECT_EQ(read_file(only_file_with_suffix(tmp.path(), ".yaml")), read_file(ref("hf_to_cs/config_to_cs-2.3.yaml")));
}

// transformers does not store the tied lm_head in safetensors files, and the Model Zoo (like
// ckptconv) does not synthesise it: those outputs match the sharded-safetensors reference.
INSTANTIATE_TEST_SUITE_P(
    AllContainers, Gpt2HfToCs,
    ::testing::Values(HfInput{"bin", "pytorch_model.bin", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"},
                      HfInput{"sharded-bin", "pytorch_model.bin.index.json", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"},
                      HfInput{"safetensors", "model.safetensors", "sharded_safetensors_to_cs/model_to_cs-2.3.mdl"},
                      HfInput{"sharded-safetensors", "model.safetensors.index.json",
                              "sharded_safetensors_to_cs/model_to_cs-2.3.mdl"}),
    [](const auto& param_info) {
        std::string n = param_info.param.dir;
        for (auto& c : n)
            if (c == '-')
                c = '_';
        return n;
    });

// The Model Zoo's hf_to_cs21 / hf_to_cs22 outputs are byte-identical to hf_to_cs (same tensors,
// same YAML), so only the cs-2.3 copies are kept in tests/data.
TEST(Gpt2Plugin, HfToCs21AndCs22MatchReference)
{
    for (const char* tgt : {"cs-2.1", "cs-2.2"}) {
        TempDir tmp;
        RunResult r = convert("gpt2", "hf", tgt, hf("bin/config.json"), hf("bin/pytorch_model.bin"), tmp.path());
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(same_checkpoint(tmp / ("pytorch_model_to_" + std::string(tgt) + ".mdl"),
                                    ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
        EXPECT_EQ(read_file(tmp / ("config_to_" + std::string(tgt) + ".yaml")),
                  read_file(ref("hf_to_cs/config_to_cs-2.3.yaml")));
    }
}

TEST(Gpt2Plugin, Bf16WeightsMatchReferenceAndRoundTrip)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.3", ref("input_bf16/config.json"), ref("input_bf16/pytorch_model.bin"),
                          tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "cs/pytorch_model_to_cs-2.3.mdl", ref("hf_to_cs_bf16/pytorch_model_to_cs-2.3.mdl")));
    r = convert("gpt2", "cs-2.3", "hf", tmp / "cs/config_to_cs-2.3.yaml", tmp / "cs/pytorch_model_to_cs-2.3.mdl",
                tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "hf/pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json",
                                ref("input_bf16/pytorch_model.bin")));
}

TEST(Gpt2Plugin, HfToCs24AddsRegistryName)
{
    TempDir tmp;
    RunResult r = cli({"convert-config", "--model", "gpt2-headless", "--src-fmt", "hf", "--tgt-fmt", "cs-2.4",
                       hf("bin/config.json").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "config_to_cs-2.4.yaml");
    EXPECT_NE(yaml.find("\n    name: gpt2\n"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("mixed_precision"), std::string::npos) << yaml;
}

TEST(Gpt2Plugin, RoundTripIsBitExactAndConfigMatchesReference)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf("bin/config.json"), hf("bin/pytorch_model.bin"), tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = convert("gpt2", "cs-2.3", "hf", tmp / "cs/config_to_cs-2.3.yaml", tmp / "cs/pytorch_model_to_cs-2.3.mdl",
                tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
    EXPECT_TRUE(same_checkpoint(out / "pytorch_model.bin.index.json", hf("bin/pytorch_model.bin")));
    const fs::path reference = ref("cs_to_hf_bin/pytorch_model_to_cs-2.3_to_hf");
    EXPECT_EQ(read_file(out / "config.json"),
              expected_hf_config(read_file(reference / "config.json"), "GPT2LMHeadModel", "float32"));
    // The Model Zoo also regenerates the attention buffers; by design ckptconv does not.
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model.bin.index.json"),
                      model_tensors(reference / "pytorch_model.bin.index.json")),
              "only right: transformer.h.0.attn.bias\nonly right: transformer.h.0.attn.masked_bias\n"
              "only right: transformer.h.1.attn.bias\nonly right: transformer.h.1.attn.masked_bias\n");
}

// The Model Zoo's own HF output still carries attn.bias / attn.masked_bias buffers: HF -> CS
// matches and drops them, giving the same CS checkpoint as from the buffer-free fixture.
TEST(Gpt2Plugin, HfAttentionBuffersAreDropped)
{
    TempDir tmp;
    const fs::path in = ref("cs_to_hf_bin/pytorch_model_to_cs-2.3_to_hf");
    ASSERT_TRUE(model_tensors(in / "pytorch_model.bin.index.json").count("transformer.h.1.attn.masked_bias"));
    RunResult r = convert("gpt2", "hf", "cs-2.3", in / "config.json", in / "pytorch_model.bin.index.json", tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "pytorch_model_to_cs-2.3.mdl", ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
}

TEST(Gpt2Plugin, CsToHfSafetensorsRoundTrip)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "cs-2.3", "hf", ref("hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp.path(), {"--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "pytorch_model_to_cs-2.3_to_hf/model.safetensors.index.json",
                                hf("bin/pytorch_model.bin")));
}

TEST(Gpt2Plugin, ConvertConfigBothWaysMatchesReference)
{
    TempDir tmp;
    RunResult r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                       hf("bin/config.json").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(tmp / "config_to_cs-2.3.yaml"), read_file(ref("config_hf_to_cs/config_to_cs-2.3.yaml")));
    r = cli({"convert-config", "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
             ref("config_hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir", tmp.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(tmp / "config_to_cs-2.3_to_hf.json"),
              expected_hf_config(read_file(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json")), "GPT2LMHeadModel"));
}

TEST(Gpt2Plugin, DebugPrintsTheModelZoosMatchedLines)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf("bin/config.json"), hf("bin/pytorch_model.bin"), tmp / "a",
                          {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(matched_lines(r.err), matched_lines(read_file(ref("logs/hf_to_cs_debug.log"))));
    r = convert("gpt2", "cs-2.3", "hf", ref("hf_to_cs/config_to_cs-2.3.yaml"), ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"),
                tmp / "b", {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto want = matched_lines(read_file(ref("logs/cs_to_hf_debug.log")));
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(matched_lines(r.err), want);
}

TEST(Gpt2Plugin, HeadlessRoundTripRebuildsTheTiedHead)
{
    TempDir tmp;
    RunResult r = convert("gpt2-headless", "cs-2.3", "hf", ref("hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
    auto tensors = model_tensors(out / "pytorch_model.bin.index.json");
    EXPECT_TRUE(tensors.count("wte.weight"));
    EXPECT_TRUE(tensors.count("h.1.attn.c_attn.weight"));
    EXPECT_FALSE(tensors.count("lm_head.weight"));
    EXPECT_NE(read_file(out / "config.json").find("\"GPT2Model\""), std::string::npos);
    r = convert("gpt2-headless", "hf", "cs-2.3", out / "config.json", out / "pytorch_model.bin.index.json", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "cs/pytorch_model_to_cs-2.3.mdl", ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
}

TEST(Gpt2Plugin, HeadlessUntiedGetsAFreshHead)
{
    TempDir tmp;
    RunResult r = convert("gpt2-headless", "cs-2.3", "hf", ref("hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "hf");
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
    const std::vector<Case> cases = {
        {{{"transformer.h.0.attn.c_attn.weight", {4, 10}}}, "transformer.h.0.attn.c_attn.weight", "[d, 3d]"},
        {{{"transformer.h.0.attn.c_attn.bias", {10}}}, "transformer.h.0.attn.c_attn.bias", "found [10]"},
        {{{"transformer.h.0.attn.q_attn.weight", {4, 4}}}, "transformer.h.0.attn.q_attn.weight", "cross-attention"},
    };
    for (const Case& c : cases) {
        TempDir tmp;
        write_safetensors(tmp / "model.safetensors", c.tensors);
        RunResult r = convert("gpt2", "hf", "cs-2.3", hf("bin/config.json"), tmp / "model.safetensors", tmp / "out");
        EXPECT_NE(r.exit_code, 0) << c.tensor;
        EXPECT_NE(r.err.find(c.tensor), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.words), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(tmp / "out/model_to_cs-2.3.mdl"));
    }
}

// ---- CS release steps -----------------------------------------------------------------------

TEST(Gpt2Plugin, Cs21ToCs20AndBackMatchReferences)
{
    TempDir tmp;
    // The Model Zoo's input was hf_to_cs21, byte-identical to hf_to_cs.
    RunResult r = convert("gpt2", "cs-2.1", "cs-2.0", ref("hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "down");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path down = tmp / "down/pytorch_model_to_cs-2.3_to_cs-2.0.mdl";
    EXPECT_TRUE(same_checkpoint(down, ref("cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl")));
    EXPECT_EQ(read_file(tmp / "down/config_to_cs-2.3_to_cs-2.0.yaml"),
              read_file(ref("cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml")));
    EXPECT_TRUE(model_tensors(down).count("embedding_layer.position_embeddings.weight"));

    r = convert("gpt2", "cs-2.0", "cs-2.1", ref("cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml"),
                ref("cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl"), tmp / "up");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "up/pytorch_model_to_cs-2.1_to_cs-2.0_to_cs-2.1.mdl",
                                ref("cs20_to_cs21/pytorch_model_to_cs-2.1_to_cs-2.0_to_cs-2.1.mdl")));
    EXPECT_EQ(read_file(tmp / "up/config_to_cs-2.1_to_cs-2.0_to_cs-2.1.yaml"),
              read_file(ref("cs20_to_cs21/config_to_cs-2.1_to_cs-2.0_to_cs-2.1.yaml")));
}

// The reference's YAML is in the cs-2.3 trainer layout (the host's rewrite of the whole file);
// the model tensors and the whole YAML must match.
TEST(Gpt2Plugin, Cs22ToCs23MatchesReference)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "cs-2.2", "cs-2.3", ref("hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(compare(model_tensors(tmp / "pytorch_model_to_cs-2.3_to_cs-2.3.mdl"),
                      model_tensors(ref("cs22_to_cs23/pytorch_model_to_cs-2.2_to_cs-2.3.mdl"))),
              "");
    EXPECT_EQ(read_file(tmp / "config_to_cs-2.3_to_cs-2.3.yaml"),
              read_file(ref("cs22_to_cs23/config_to_cs-2.2_to_cs-2.3.yaml")));
}

// hf -> cs-2.0 in one command (through cs-2.1 and the release step) gives the model and YAML the
// Model Zoo gives in two runs; HF -> CS output carries no __metadata__, so only that differs.
TEST(Gpt2Plugin, HfToCs20InOneCommandMatchesTwoStepReference)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "hf", "cs-2.0", hf("bin/config.json"), hf("bin/pytorch_model.bin"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(compare(model_tensors(tmp / "pytorch_model_to_cs-2.0.mdl"),
                      model_tensors(ref("cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl"))),
              "");
    EXPECT_EQ(read_file(tmp / "config_to_cs-2.0.yaml"), read_file(ref("cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml")));
}

// A whole training checkpoint: model, optimizer, scheduler, step and the recorded config
// (__metadata__ params, in the trainer layout) equal the Model Zoo's, and so does the YAML.
TEST(Gpt2Plugin, Cs22ToCs23TrainStateMatchesReference)
{
    TempDir tmp;
    RunResult r = convert("gpt2", "cs-2.2", "cs-2.3", ref("input_cs22_train/params_gpt2_tiny.yaml"),
                          ref("input_cs22_train/checkpoint_10.mdl"), tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = cli({"diff", "--json", (tmp / "checkpoint_10_to_cs-2.3.mdl").string(),
             ref("cs22_to_cs23_train_state/checkpoint_10_to_cs-2.3.mdl").string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // Every entry, __metadata__ (with the recorded trainer-layout params) included.
    EXPECT_NE(r.out.find("\"same\": true,"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(tmp / "params_gpt2_tiny_to_cs-2.3.yaml"),
              read_file(ref("cs22_to_cs23_train_state/params_gpt2_tiny_to_cs-2.3.yaml")));
}

TEST(Gpt2Plugin, Cs20ToCs23InOneCommandEqualsStepByStep)
{
    TempDir tmp;
    const fs::path cfg = ref("cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml");
    const fs::path ck = ref("cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl");
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
        step_cfg = only_file_with_suffix(dir, ".yaml");
        step_ck = only_file_with_suffix(dir, ".mdl");
    }
    EXPECT_TRUE(same_checkpoint(only_file_with_suffix(tmp / "one", ".mdl"), step_ck));
    EXPECT_EQ(read_file(only_file_with_suffix(tmp / "one", ".yaml")), read_file(step_cfg));
}

TEST(Gpt2Plugin, Cs19ToCs20RepairsTiesAndNormType)
{
    TempDir tmp;
    // A checkpoint without lm_head (the safetensors fixture omits the tied alias), as cs-1.9.
    RunResult r = convert("gpt2", "hf", "cs-2.3", hf("safetensors/config.json"), hf("safetensors/model.safetensors"),
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
    std::string base = read_file(ref("hf_to_cs/config_to_cs-2.3.yaml"));
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
