// SPDX-License-Identifier: Apache-2.0
// What only the esm2 plugin does, against the Model Zoo's own outputs (tests/data/cs-ref/esm2):
// the tensors CS has no place for are named, hf -> cs -> hf is bit-exact except those, and the HF
// config carries the documented departures (model_type esm, architectures). The behaviours every
// family shares are in tests/unit/families.
#include "checkpoint_support.hpp"
#include "config/config_file.hpp"
#include "core/node.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

fs::path hf(const std::string& rel) { return data_path("hf/esm2/" + rel); }
fs::path ref(const std::string& rel) { return data_path("cs-ref/esm2/" + rel); }

const char* const kContactHead[] = {"esm.contact_head.regression.weight", "esm.contact_head.regression.bias"};
const char* const kPositions = "esm.embeddings.position_embeddings.weight";

TEST(Esm2Reference, DroppedTensorsAreNamed)
{
    TempDir out;
    RunResult r = convert_hf("esm-2", hf("bin/pytorch_model.bin"), out.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const char* name : kContactHead)
        EXPECT_NE(r.err.find(std::string(name) + " dropped"), std::string::npos) << name << "\n" << r.err;
    EXPECT_NE(r.err.find(std::string(kPositions) + " dropped"), std::string::npos) << r.err;
}

TEST(Esm2Reference, RoundTripIsBitExactExceptDroppedTensors)
{
    for (const bool safetensors : {false, true}) {
        TempDir out;
        RunResult r = convert_hf("esm-2", hf("bin/pytorch_model.bin"), out / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        r = convert_cs23_to_hf("esm-2", out / "cs", out / "hf", safetensors);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
        auto mine = model_tensors(dir / (safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json"));
        auto original = model_tensors(hf("bin/pytorch_model.bin"));
        // CS has no contact head and, with rotary positions, no absolute position table: they come
        // back as zeros so EsmForMaskedLM loads strictly, and the log says so.
        std::vector<std::string> zeroed(std::begin(kContactHead), std::end(kContactHead));
        zeroed.push_back(kPositions);
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
        // The Model Zoo writes model_type bert (docs/decisions.md D14); everything else is its output.
        EXPECT_EQ(theirs.find("model_type")->as_string(), "bert");
        for (const char* ours_only : {"architectures", "torch_dtype", "model_type"}) {
            config.erase(ours_only);
            theirs.erase(ours_only);
        }
        EXPECT_TRUE(config == theirs) << read_file(dir / "config.json");
    }
}

TEST(Esm2Reference, ConvertConfigToHf)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", "esm-2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                               "--config", ref("hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir",
                               out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node config = read_config(out / "config_to_cs-2.3_to_hf.json");
    EXPECT_EQ(config.find("model_type")->as_string(), "esm");
    EXPECT_EQ(config.find("token_dropout")->as_bool(), true);
    EXPECT_EQ(config.find("mask_token_id")->as_int(), 32);
    EXPECT_EQ(config.find("hidden_act"), nullptr); // ESM's activation is fixed; the Model Zoo drops it too
}

} // namespace
} // namespace ckpt::test
