// SPDX-License-Identifier: Apache-2.0
// The esm2 plugin against the Model Zoo's own outputs (tests/data/cs-ref/esm2): hf -> cs tensor
// for tensor and YAML byte for byte, hf -> cs -> hf bit-exact except the tensors dropped by
// design, and the HF config with the documented departures (model_type esm, architectures).
#include "checkpoint_support.hpp"
#include "config/config_file.hpp"
#include "core/node.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

fs::path hf(const std::string& rel) { return data_path("hf/esm2/" + rel); }
fs::path ref(const std::string& rel) { return data_path("cs-ref/esm2/" + rel); }

const char* const kDroppedContactHead[] = {"esm.contact_head.regression.weight", "esm.contact_head.regression.bias"};
const char* const kDroppedPositions = "esm.embeddings.position_embeddings.weight";

RunResult hf_to_cs(const fs::path& checkpoint, const fs::path& out, const std::string& tgt = "cs-2.3")
{
    return run_bundled({"convert", "--model", "esm-2", "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                        (checkpoint.parent_path() / "config.json").string(), checkpoint.string(), "--output-dir",
                        out.string()});
}

TEST(Esm2Reference, HfToCsMatchesModelZoo)
{
    for (const std::string input : {"bin/pytorch_model.bin", "safetensors/model.safetensors"}) {
        TempDir out;
        RunResult r = hf_to_cs(hf(input), out.path());
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const std::string stem = fs::path(input).stem().string();
        EXPECT_EQ(compare(model_tensors(out / (stem + "_to_cs-2.3.mdl")),
                          model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
                  "")
            << input;
        EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("hf_to_cs/config_to_cs-2.3.yaml")));
        // The tensors CS has no place for are named in a warning.
        for (const char* name : kDroppedContactHead)
            EXPECT_NE(r.err.find(std::string(name) + " dropped"), std::string::npos) << name << "\n" << r.err;
        EXPECT_NE(r.err.find(std::string(kDroppedPositions) + " dropped"), std::string::npos) << r.err;
    }
}

TEST(Esm2Reference, RoundTripIsBitExactExceptDroppedTensors)
{
    for (const bool safetensors : {false, true}) {
        TempDir out;
        RunResult r = hf_to_cs(hf("bin/pytorch_model.bin"), out / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        std::vector<std::string> back{"convert", "--model", "esm-2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                                      "--config", (out / "cs/config_to_cs-2.3.yaml").string(),
                                      (out / "cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir",
                                      (out / "hf").string()};
        if (safetensors)
            back.push_back("--export-safetensors");
        r = run_bundled(back);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
        auto mine = model_tensors(dir / (safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json"));
        auto original = model_tensors(hf("bin/pytorch_model.bin"));
        // CS has no contact head and, with rotary positions, no absolute position table: they come
        // back as zeros so EsmForMaskedLM loads strictly, and the log says so.
        std::vector<std::string> zeroed(std::begin(kDroppedContactHead), std::end(kDroppedContactHead));
        zeroed.push_back(kDroppedPositions);
        for (const auto& name : zeroed) {
            ASSERT_TRUE(mine.count(name)) << name;
            ASSERT_TRUE(original.count(name)) << name;
            EXPECT_EQ(mine[name]->info(), original[name]->info()) << name;
            EXPECT_TRUE(all_zero(*mine[name])) << name;
            EXPECT_NE(r.err.find(name + " written as zeros"), std::string::npos) << name << "\n" << r.err;
            mine.erase(name);
            original.erase(name);
        }
        // Everything else, the regenerated rotary inv_freq buffers included, is bit for bit.
        EXPECT_TRUE(original.count("esm.encoder.layer.1.attention.self.rotary_embeddings.inv_freq"));
        EXPECT_EQ(compare(mine, original), "") << (safetensors ? "safetensors" : "bin");

        Node config = read_config(dir / "config.json");
        Node theirs = read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json"));
        ASSERT_NE(config.find("architectures"), nullptr);
        EXPECT_EQ(config.find("architectures")->items().at(0).as_string(), "EsmForMaskedLM");
        EXPECT_EQ(config.find("model_type")->as_string(), "esm");
        EXPECT_EQ(config.find("torch_dtype")->as_string(), "float32");
        // The Model Zoo writes model_type bert (docs/decisions.md); everything else is its output.
        EXPECT_EQ(theirs.find("model_type")->as_string(), "bert");
        for (const char* ours_only : {"architectures", "torch_dtype", "model_type"}) {
            config.erase(ours_only);
            theirs.erase(ours_only);
        }
        EXPECT_TRUE(config == theirs) << read_file(dir / "config.json");
    }
}

TEST(Esm2Reference, ConvertConfigBothWays)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", "esm-2", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                               "--config", hf("bin/config.json").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("config_hf_to_cs/config_to_cs-2.3.yaml")));
    r = run_bundled({"convert-config", "--model", "esm-2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                     ref("hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node config = read_config(out / "config_to_cs-2.3_to_hf.json");
    EXPECT_EQ(config.find("model_type")->as_string(), "esm");
    EXPECT_EQ(config.find("token_dropout")->as_bool(), true);
    EXPECT_EQ(config.find("mask_token_id")->as_int(), 32);
    EXPECT_EQ(config.find("hidden_act"), nullptr); // ESM's activation is fixed; the Model Zoo drops it too
}

TEST(Esm2Reference, NewerTargetsCarryTheRegistryName)
{
    TempDir out;
    RunResult r = hf_to_cs(hf("bin/pytorch_model.bin"), out.path(), "cs-2.5");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.5.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.5.yaml");
    EXPECT_NE(yaml.find("name: esm2"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("mixed_precision"), std::string::npos) << yaml;
}

TEST(Esm2Reference, ListShowsTheModelAndNote)
{
    RunResult r = run_bundled({"list", "esm-2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("hf EsmForMaskedLM <-> cs-2.1, cs-2.2, cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, "
                         "cs-2.9 for Esm2ForPreTrainingModel"),
              std::string::npos)
        << r.out;
}

TEST(Esm2Reference, CsReleaseStepsKeepTheTensors)
{
    TempDir out;
    RunResult r = run_bundled({"convert", "--model", "esm-2", "--src-fmt", "cs-2.3", "--tgt-fmt", "cs-2.5", "--config",
                               ref("hf_to_cs/config_to_cs-2.3.yaml").string(),
                               ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.3_to_cs-2.5.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.3_to_cs-2.5.yaml");
    EXPECT_NE(yaml.find("name: esm2\n"), std::string::npos) << yaml;
}

} // namespace
} // namespace ckpt::test
