// SPDX-License-Identifier: Apache-2.0
// The llama plugin against the Model Zoo's --debug lines and release paths: multi-release
// upgrades in one command equal the steps one by one (the references and round trips are rows of
// tests/conformance/conformance_test.cpp).
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>


namespace ckpt::test::llama {
namespace {

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
    EXPECT_TRUE(same_checkpoint(only_file(out / "once", ".mdl"), ck));
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
    EXPECT_TRUE(same_checkpoint(only_file(out / "once", ".mdl"), only_file(out / "s2", ".mdl")));
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
    EXPECT_TRUE(same_checkpoint(only_file(out / "once", ".mdl"), ck));
    const std::string once = read_file(only_file(out / "once", ".yaml"));
    EXPECT_EQ(once, read_file(cfg));
    for (const char* want : {"trainer:\n", "            name: llama\n", "            betas:\n", "                total_iters: 100\n",
                             "        -   ScopedTrainFlags:\n", "    validate_all:\n        val_dataloaders: {}\n"})
        EXPECT_NE(once.find(want), std::string::npos) << want << "\n" << once;
}

} // namespace
} // namespace ckpt::test::llama
