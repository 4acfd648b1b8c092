// SPDX-License-Identifier: Apache-2.0
// What only the mixtral plugin does, against the Model Zoo's own outputs (tests/data/cs-ref/mixtral):
// the expert layout, hf -> cs -> hf bit for bit, the headless model both ways, and the refusals of
// the expert settings. The behaviours every family shares are in tests/unit/families.
#include "checkpoint_support.hpp"
#include "config/config_file.hpp"
#include "core/node.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

fs::path hf(const std::string& rel) { return data_path("hf/mixtral/" + rel); }
fs::path ref(const std::string& rel) { return data_path("cs-ref/mixtral/" + rel); }

TEST(MixtralReference, ExpertsStackAlongTheSecondAxis)
{
    auto hf_t = model_tensors(hf("bin/pytorch_model.bin"));
    auto cs_t = model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const auto& fused = cs_t.at("transformer_decoder.layers.1.ffn.experts.fused_ffns.1.linear_layer.expert_weights");
    ASSERT_EQ(fused->info().shape, (std::vector<int64_t>{64, 4, 64})); // [out, experts, in]
    const auto all = bytes_of(*fused);
    const size_t row = 64 * sizeof(float);
    for (int e = 0; e < 4; ++e) {
        const auto one = bytes_of(*hf_t.at("model.layers.1.block_sparse_moe.experts." + std::to_string(e) + ".w2.weight"));
        for (size_t r = 0; r < 64; ++r)
            ASSERT_EQ(std::memcmp(one.data() + r * row, all.data() + (r * 4 + static_cast<size_t>(e)) * row, row), 0)
                << "expert " << e << " row " << r;
    }
}

TEST(MixtralReference, RoundTripIsBitExact)
{
    for (const bool safetensors : {false, true}) {
        TempDir out;
        RunResult r = convert_hf("mixtral", hf("bin/pytorch_model.bin"), out / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        r = convert_cs23_to_hf("mixtral", out / "cs", out / "hf", safetensors);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
        // No rotary_emb.inv_freq: current transformers does not keep it (design.md §5).
        EXPECT_EQ(compare(model_tensors(dir / (safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json")),
                          model_tensors(hf("bin/pytorch_model.bin"))),
                  "");
        Node mine = read_config(dir / "config.json");
        ASSERT_NE(mine.find("architectures"), nullptr);
        EXPECT_EQ(mine.find("architectures")->items().at(0).as_string(), "MixtralForCausalLM");
        mine.erase("architectures");
        mine.erase("torch_dtype");
        EXPECT_TRUE(mine == read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json"))) << read_file(dir / "config.json");
    }
}

TEST(MixtralReference, HeadlessBothWays)
{
    TempDir out;
    RunResult r = convert_hf("mixtral-headless", ref("input_headless/pytorch_model.bin"), out / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // As the Model Zoo prints it: the converter's CS formats, then the warning.
    EXPECT_NE(r.err.find("cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, cs-2.9 has a language model head (lm_head) "
                         "while hf does not. Initializing lm_head to default."),
              std::string::npos)
        << r.err;
    EXPECT_EQ(compare(model_tensors(out / "cs/pytorch_model_to_cs-2.3.mdl"),
                      model_tensors(ref("headless_hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    EXPECT_EQ(read_file(out / "cs/config_to_cs-2.3.yaml"), read_file(ref("headless_hf_to_cs/config_to_cs-2.3.yaml")));
    r = convert_cs23_to_hf("mixtral-headless", out / "cs", out / "hf", true);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
    EXPECT_EQ(compare(model_tensors(dir / "model.safetensors.index.json"), model_tensors(ref("input_headless/pytorch_model.bin"))),
              "");
    EXPECT_EQ(read_config(dir / "config.json").find("architectures")->items().at(0).as_string(), "MixtralModel");
}

TEST(MixtralReference, ConvertConfigToHfAndTargets)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", "mixtral", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                               "--config", ref("hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir",
                               out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node mine = read_config(out / "config_to_cs-2.3_to_hf.json");
    mine.erase("architectures");
    mine.erase("torch_dtype");
    EXPECT_TRUE(mine == read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json")))
        << read_file(out / "config_to_cs-2.3_to_hf.json");

    // The Model Zoo registers Mixtral from cs-2.3 on.
    r = run_bundled({"convert-config", "--model", "mixtral", "--src-fmt", "hf", "--tgt-fmt", "cs-2.2", "--config",
                     hf("bin/config.json").string(), "--output-dir", (out / "old").string()});
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
}

TEST(MixtralReference, ExpertSettingsErrors)
{
    TempDir dir;
    std::string json = read_file(hf("bin/config.json"));
    const std::string key = "\"num_experts_per_tok\": 2,";
    ASSERT_NE(json.find(key), std::string::npos);
    json.erase(json.find(key), key.size());
    write_file(dir / "config.json", json);
    RunResult r = run_bundled({"convert-config", "--model", "mixtral", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                               "--config", (dir / "config.json").string(), "--output-dir", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("HF config has num_local_experts but no num_experts_per_tok"), std::string::npos) << r.err;

    // A checkpoint with more experts than the config names is refused, not silently truncated.
    std::string yaml = read_file(ref("hf_to_cs/config_to_cs-2.3.yaml"));
    const std::string experts = "num_experts: 4";
    yaml.replace(yaml.find(experts), experts.size(), "num_experts: 2");
    write_file(dir / "params.yaml", yaml);
    r = run_bundled({"convert", "--model", "mixtral", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                     (dir / "params.yaml").string(), ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(),
                     "--output-dir", (dir / "back").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("expected [out, 2 experts, in] (moe.num_experts)"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "back") && !list_tree(dir / "back").empty());
}

TEST(MixtralReference, ListShowsTheHeadlessNote)
{
    RunResult r = run_bundled({"list", "mixtral-headless", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(json_escape("hf MixtralModel <-> cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, cs-2.9 "
                                     "GPT2LMHeadModel (configured as Mixtral)\nThe HF model doesn't contain a "
                                     "language model head while the CS one does.")),
              std::string::npos)
        << r.out;
}

} // namespace
} // namespace ckpt::test
