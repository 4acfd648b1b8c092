// SPDX-License-Identifier: Apache-2.0
// The llama plugin against the Model Zoo's own outputs (tests/data/cs-ref/{llama,mistral}):
// checkpoints tensor for tensor, CS configs byte for byte, HF configs modulo our documented
// additions (`architectures`, `torch_dtype`), --debug lines, and the CS release steps.
#include "llama_test_util.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>

namespace ckpt::test::llama {
namespace {

struct HfInput {
    std::string family;
    std::string rel;  // checkpoint under tests/data/hf/<family>
    std::string stem; // the Model Zoo's output stem
};

void PrintTo(const HfInput& in, std::ostream* os) { *os << in.family << "/" << in.rel; }

class HfToCs23 : public ::testing::TestWithParam<HfInput> {};

TEST_P(HfToCs23, MatchesModelZooReference)
{
    const HfInput& in = GetParam();
    TempDir out;
    const fs::path input = hf(in.family, in.rel);
    RunResult r = cli({"convert", "--model", in.family, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       (input.parent_path() / "config.json").string(), input.string(), "--output-dir",
                       out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(out / (in.stem + "_to_cs-2.3.mdl"), ref(in.family, "hf_to_cs/pytorch_model_to_cs-2.3.mdl")), 0);
    EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref(in.family, "hf_to_cs/config_to_cs-2.3.yaml")));
}

INSTANTIATE_TEST_SUITE_P(Llama, HfToCs23,
                         ::testing::Values(HfInput{"llama", "bin/pytorch_model.bin", "pytorch_model"},
                                           HfInput{"llama", "safetensors/model.safetensors", "model"},
                                           HfInput{"llama", "sharded-bin/pytorch_model.bin.index.json", "pytorch_model"},
                                           HfInput{"llama", "sharded-safetensors/model.safetensors.index.json", "model"},
                                           HfInput{"mistral", "bin/pytorch_model.bin", "pytorch_model"},
                                           HfInput{"mistral", "safetensors/model.safetensors", "model"}),
                         [](const ::testing::TestParamInfo<HfInput>& p) {
                             std::string name = p.param.family + "_" + p.param.rel;
                             for (char& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c)))
                                     c = '_';
                             return name;
                         });

TEST(LlamaReference, OlderTargetsMatch)
{
    for (const std::string tgt : {"cs-2.1", "cs-2.2"}) {
        TempDir out;
        RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                           hf("llama", "bin/config.json").string(), hf("llama", "bin/pytorch_model.bin").string(),
                           "--output-dir", out.path().string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const std::string dir = tgt == "cs-2.1" ? "hf_to_cs21/" : "hf_to_cs22/";
        // The cs-2.2 reference tensors are those of cs-2.3 (only the YAML is kept for cs-2.2).
        const fs::path ref_mdl = tgt == "cs-2.1" ? ref("llama", "hf_to_cs21/pytorch_model_to_cs-2.1.mdl")
                                                 : ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl");
        EXPECT_EQ(diff(out / ("pytorch_model_to_" + tgt + ".mdl"), ref_mdl), 0) << tgt;
        EXPECT_EQ(read_file(out / ("config_to_" + tgt + ".yaml")), read_file(ref("llama", dir + "config_to_" + tgt + ".yaml")))
            << tgt;
    }
}

/// HF config written by us = the Model Zoo's, plus architectures and torch_dtype.
void expect_hf_config(const fs::path& ours, const fs::path& reference, const std::string& hf_class)
{
    Node mine = config(ours);
    Node theirs = config(reference);
    ASSERT_NE(mine.find("architectures"), nullptr);
    ASSERT_EQ(mine.find("architectures")->size(), 1u);
    EXPECT_EQ(mine.find("architectures")->items().at(0).as_string(), hf_class);
    ASSERT_NE(mine.find("torch_dtype"), nullptr);
    EXPECT_EQ(mine.find("torch_dtype")->as_string(), "float32");
    for (const char* added : {"architectures", "torch_dtype"}) {
        mine.erase(added);
        theirs.erase(added);
    }
    EXPECT_TRUE(mine == theirs) << read_file(ours) << "\nvs\n" << read_file(reference);
}

TEST(LlamaReference, RoundTripIsBitExact)
{
    for (const std::string family : {"llama", "mistral"}) {
        for (const bool safetensors : {false, true}) {
            TempDir out;
            RunResult r = cli({"convert", "--model", family, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                               hf(family, "bin/config.json").string(), hf(family, "bin/pytorch_model.bin").string(),
                               "--output-dir", (out / "cs").string()});
            ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
            std::vector<std::string> back{"convert", "--model", family, "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                                          "--config", (out / "cs/config_to_cs-2.3.yaml").string(),
                                          (out / "cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir",
                                          (out / "hf").string()};
            if (safetensors)
                back.push_back("--export-safetensors");
            r = cli(back);
            ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
            const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
            const fs::path index = dir / (safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json");
            // No rotary_emb.inv_freq: current transformers does not keep it (design.md §5).
            EXPECT_EQ(diff(index, hf(family, "bin/pytorch_model.bin")), 0) << family;
            const std::string cls = family == "llama" ? "LlamaForCausalLM" : "MistralForCausalLM";
            expect_hf_config(dir / "config.json", ref(family, "config_cs_to_hf/config_to_cs-2.3_to_hf.json"), cls);
        }
    }
}

TEST(LlamaReference, ConvertConfigBothWays)
{
    for (const std::string family : {"llama", "mistral"}) {
        TempDir out;
        RunResult r = cli({"convert-config", "--model", family, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                           hf(family, "bin/config.json").string(), "--output-dir", out.path().string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref(family, "config_hf_to_cs/config_to_cs-2.3.yaml")));
        r = cli({"convert-config", "--model", family, "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                 ref(family, "hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir", out.path().string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        expect_hf_config(out / "config_to_cs-2.3_to_hf.json", ref(family, "config_cs_to_hf/config_to_cs-2.3_to_hf.json"),
                         family == "llama" ? "LlamaForCausalLM" : "MistralForCausalLM");
    }
}

TEST(LlamaReference, DebugLinesMatchModelZoo)
{
    TempDir out;
    RunResult r = cli({"convert", "--model", "llama", "--debug", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       hf("llama", "bin/config.json").string(), hf("llama", "bin/pytorch_model.bin").string(),
                       "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(matched_lines(r.out + r.err), matched_lines(read_file(ref("llama", "logs/hf_to_cs_debug.log"))));

    r = cli({"convert", "--model", "llama", "--debug", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             ref("llama", "hf_to_cs/config_to_cs-2.3.yaml").string(),
             ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto expected = matched_lines(read_file(ref("llama", "logs/cs_to_hf_debug.log")));
    EXPECT_GT(expected.size(), 40u);
    EXPECT_EQ(matched_lines(r.out + r.err), expected);
}

TEST(LlamaReference, Cs21ToCs20AndBack)
{
    TempDir out;
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.1", "--tgt-fmt", "cs-2.0", "--config",
                       ref("llama", "hf_to_cs21/config_to_cs-2.1.yaml").string(),
                       ref("llama", "hf_to_cs21/pytorch_model_to_cs-2.1.mdl").string(), "--output-dir",
                       (out / "down").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(out / "down/pytorch_model_to_cs-2.1_to_cs-2.0.mdl",
                   ref("llama", "cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl")),
              0);
    EXPECT_EQ(read_file(out / "down/config_to_cs-2.1_to_cs-2.0.yaml"),
              read_file(ref("llama", "cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml")));

    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-2.1", "--config",
             ref("llama", "cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml").string(),
             ref("llama", "cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl").string(), "--output-dir",
             (out / "up").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(out / "up/pytorch_model_to_cs-2.1_to_cs-2.0_to_cs-2.1.mdl",
                   ref("llama", "cs20_to_cs21/pytorch_model_to_cs-2.1_to_cs-2.0_to_cs-2.1.mdl")),
              0);
    EXPECT_EQ(read_file(out / "up/config_to_cs-2.1_to_cs-2.0_to_cs-2.1.yaml"),
              read_file(ref("llama", "cs20_to_cs21/config_to_cs-2.1_to_cs-2.0_to_cs-2.1.yaml")));
}

/// A cs-1.9 checkpoint and config in `dir`: the cs-2.0 reference taken one release down.
RunResult cs19_checkpoint(const fs::path& dir)
{
    return cli({"convert", "--model", "llama", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-1.9", "--config",
                ref("llama", "cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml").string(),
                ref("llama", "cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl").string(), "--output-dir",
                dir.string()});
}

/// Runs `ckptconv convert` once per release step of `steps` from (cfg, ck), each into its own
/// folder under `out`; returns the last config and checkpoint.
std::pair<fs::path, fs::path> upgrade_step_by_step(fs::path cfg, fs::path ck, const std::vector<std::string>& steps,
                                                   const fs::path& out)
{
    for (size_t i = 0; i + 1 < steps.size(); ++i) {
        const fs::path dir = out / ("step" + std::to_string(i));
        RunResult r = cli({"convert", "--model", "llama", "--src-fmt", steps[i], "--tgt-fmt", steps[i + 1], "--config",
                           cfg.string(), ck.string(), "--output-dir", dir.string()});
        EXPECT_EQ(r.exit_code, 0) << steps[i] << r.out << r.err;
        cfg = only_file(dir, ".yaml");
        ck = only_file(dir, ".mdl");
    }
    return {cfg, ck};
}

TEST(LlamaReference, MultiReleaseUpgradeEqualsStepByStep)
{
    TempDir out;
    const fs::path cfg0 = ref("llama", "cs21_to_cs20/config_to_cs-2.1_to_cs-2.0.yaml");
    const fs::path ck0 = ref("llama", "cs21_to_cs20/pytorch_model_to_cs-2.1_to_cs-2.0.mdl");
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-2.3", "--config",
                       cfg0.string(), ck0.string(), "--output-dir", (out / "once").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // A release upgrade never detours through Hugging Face (CS-only keys would be lost).
    EXPECT_EQ((r.out + r.err).find("-> hf "), std::string::npos) << r.err;

    const auto [cfg, ck] = upgrade_step_by_step(cfg0, ck0, {"cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3"}, out.path());
    EXPECT_EQ(diff(only_file(out / "once", ".mdl"), ck), 0);
    EXPECT_EQ(read_file(only_file(out / "once", ".yaml")), read_file(cfg));
}

TEST(LlamaReference, Cs19ToCs21InOneCommandEqualsStepByStep)
{
    TempDir out;
    RunResult r = cs19_checkpoint(out / "v19");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const fs::path cfg19 = only_file(out / "v19", ".yaml"), ck19 = only_file(out / "v19", ".mdl");
    Node c19 = config(cfg19);
    ASSERT_NE(c19.find("model"), nullptr);
    EXPECT_EQ(c19.find("model")->find("norm_type"), nullptr);
    ASSERT_NE(c19.find("model")->find("use_rms_norm"), nullptr);
    EXPECT_TRUE(c19.find("model")->find("use_rms_norm")->as_bool());

    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-1.9", "--tgt-fmt", "cs-2.1", "--config", cfg19.string(),
             ck19.string(), "--output-dir", (out / "once").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-1.9", "--tgt-fmt", "cs-2.0", "--config", cfg19.string(),
             ck19.string(), "--output-dir", (out / "s1").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.0", "--tgt-fmt", "cs-2.1", "--config",
             only_file(out / "s1", ".yaml").string(), only_file(out / "s1", ".mdl").string(), "--output-dir",
             (out / "s2").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(only_file(out / "once", ".mdl"), only_file(out / "s2", ".mdl")), 0);
    EXPECT_EQ(read_file(only_file(out / "once", ".yaml")), read_file(only_file(out / "s2", ".yaml")));
    // And the model tensors are the cs-2.1 reference's.
    EXPECT_EQ(read_file(only_file(out / "once", ".yaml")),
              read_file(ref("llama", "cs20_to_cs21/config_to_cs-2.1_to_cs-2.0_to_cs-2.1.yaml")));
}

// The example: cs-1.9 -> cs-2.4 in one command (through the cs-2.3 trainer layout and the
// cs-2.4 registry name) equals five separate runs, checkpoint and YAML.
TEST(LlamaReference, Cs19ToCs24InOneCommandEqualsStepByStep)
{
    TempDir out;
    RunResult r = cs19_checkpoint(out / "v19");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // A training config around the model section, so the whole-file release changes run too.
    const std::string model = read_file(only_file(out / "v19", ".yaml"));
    write_file(out / "train19.yaml", model + "optimizer:\n    optimizer_type: AdamW\n    beta1: 0.9\n    beta2: 0.95\n"
                                             "    learning_rate:\n    -   scheduler: Linear\n        learning_rate: 0.0\n"
                                             "        end_learning_rate: 0.001\n        steps: 100\n"
                                             "runconfig:\n    max_steps: 100\n    save_losses: true\n"
                                             "    use_cs_grad_accum: true\n");
    const fs::path ck19 = only_file(out / "v19", ".mdl");
    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-1.9", "--tgt-fmt", "cs-2.4", "--config",
             (out / "train19.yaml").string(), ck19.string(), "--output-dir", (out / "once").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

    const auto [cfg, ck] = upgrade_step_by_step(out / "train19.yaml", ck19,
                                                {"cs-1.9", "cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4"}, out.path());
    EXPECT_EQ(diff(only_file(out / "once", ".mdl"), ck), 0);
    const std::string once = read_file(only_file(out / "once", ".yaml"));
    EXPECT_EQ(once, read_file(cfg));
    for (const char* want : {"trainer:\n", "            name: llama\n", "            betas:\n", "                total_iters: 100\n",
                             "        -   ScopedTrainFlags:\n", "    validate_all:\n        val_dataloaders: {}\n"})
        EXPECT_NE(once.find(want), std::string::npos) << want << "\n" << once;
}

} // namespace
} // namespace ckpt::test::llama
