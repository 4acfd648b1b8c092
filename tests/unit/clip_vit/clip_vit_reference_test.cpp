// SPDX-License-Identifier: Apache-2.0
// The clip_vit plugin against the Model Zoo's own outputs (tests/data/cs-ref/clip_vit): hf -> cs
// tensor for tensor and YAML byte for byte, hf -> cs -> hf bit-exact, the HF config with our
// documented additions, and the class token's position row moved where CS keeps it.
#include "checkpoint_support.hpp"
#include "config/config_file.hpp"
#include "core/node.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

fs::path hf(const std::string& rel) { return data_path("hf/clip_vit/" + rel); }
fs::path ref(const std::string& rel) { return data_path("cs-ref/clip_vit/" + rel); }

RunResult hf_to_cs(const fs::path& checkpoint, const fs::path& out, const std::string& tgt = "cs-2.3")
{
    return run_bundled({"convert", "--model", "clip-vit", "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                        (checkpoint.parent_path() / "config.json").string(), checkpoint.string(), "--output-dir",
                        out.string()});
}

std::vector<std::byte> bytes_of(const TensorData& t)
{
    std::vector<std::byte> b(t.info().nbytes());
    t.read(0, b.data(), b.size());
    return b;
}

TEST(ClipVitReference, HfToCsMatchesModelZoo)
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
    }
}

TEST(ClipVitReference, ClassTokenPositionMovesToTheLastRow)
{
    auto hf_tensors = model_tensors(hf("bin/pytorch_model.bin"));
    auto cs_tensors = model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const auto h = bytes_of(*hf_tensors.at("vision_model.embeddings.position_embedding.weight"));
    const auto c = bytes_of(*cs_tensors.at("vit_model.embedding_layer.position_embeddings.weight"));
    ASSERT_EQ(h.size(), c.size());
    const size_t row = 64 * sizeof(float); // hidden_size 64; 17 rows (16 patches + class token)
    ASSERT_EQ(h.size(), 17 * row);
    EXPECT_EQ(std::memcmp(h.data(), c.data() + 16 * row, row), 0);       // HF row 0 is CS row 16
    EXPECT_EQ(std::memcmp(h.data() + row, c.data(), 16 * row), 0);       // the patches move up by one
}

TEST(ClipVitReference, RoundTripIsBitExact)
{
    for (const bool safetensors : {false, true}) {
        TempDir out;
        RunResult r = hf_to_cs(hf("bin/pytorch_model.bin"), out / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        std::vector<std::string> back{"convert", "--model", "clip-vit", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                                      "--config", (out / "cs/config_to_cs-2.3.yaml").string(),
                                      (out / "cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir",
                                      (out / "hf").string()};
        if (safetensors)
            back.push_back("--export-safetensors");
        r = run_bundled(back);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
        EXPECT_EQ(compare(model_tensors(dir / (safetensors ? "model.safetensors.index.json" : "pytorch_model.bin.index.json")),
                          model_tensors(hf("bin/pytorch_model.bin"))),
                  "");
        Node mine = read_config(dir / "config.json");
        Node theirs = read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json"));
        ASSERT_NE(mine.find("architectures"), nullptr);
        EXPECT_EQ(mine.find("architectures")->items().at(0).as_string(), "CLIPVisionModelWithProjection");
        EXPECT_EQ(mine.find("torch_dtype")->as_string(), "float32");
        mine.erase("architectures");
        mine.erase("torch_dtype");
        EXPECT_TRUE(mine == theirs) << read_file(dir / "config.json");
    }
}

TEST(ClipVitReference, ConvertConfigBothWays)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", "clip-vit", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3",
                               "--config", hf("bin/config.json").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_file(out / "config_to_cs-2.3.yaml"), read_file(ref("config_hf_to_cs/config_to_cs-2.3.yaml")));
    r = run_bundled({"convert-config", "--model", "clip-vit", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                     ref("hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node mine = read_config(out / "config_to_cs-2.3_to_hf.json");
    mine.erase("architectures");
    EXPECT_TRUE(mine == read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json")))
        << read_file(out / "config_to_cs-2.3_to_hf.json");
}

TEST(ClipVitReference, NewerTargetsCarryTheRegistryName)
{
    TempDir out;
    RunResult r = hf_to_cs(hf("bin/pytorch_model.bin"), out.path(), "cs-2.9");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.9.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.9.yaml");
    EXPECT_NE(yaml.find("name: vision_transformer"), std::string::npos) << yaml;
}

TEST(ClipVitReference, ListShowsTheModelAndNote)
{
    RunResult r = run_bundled({"list", "clip-vit", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string note = "hf CLIPVisionModelWithProjection <-> cs-2.1, cs-2.2, cs-2.3, cs-2.4, cs-2.5, cs-2.6, "
                             "cs-2.7, cs-2.8, cs-2.9 ViTClassificationModel.\nWe map the projection layer in  "
                             "`CLIPVisionModelWithProjection` model to classifier layer in CS";
    EXPECT_NE(r.out.find("\"note\": \"" + json_escape(note) + "\""), std::string::npos) << r.out;
}

TEST(ClipVitReference, CsReleaseStepsKeepTheTensors)
{
    TempDir out;
    RunResult r = run_bundled({"convert", "--model", "clip-vit", "--src-fmt", "cs-2.3", "--tgt-fmt", "cs-2.5", "--config",
                               ref("hf_to_cs/config_to_cs-2.3.yaml").string(),
                               ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "pytorch_model_to_cs-2.3_to_cs-2.5.mdl"),
                      model_tensors(ref("hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
    const std::string yaml = read_file(out / "config_to_cs-2.3_to_cs-2.5.yaml");
    EXPECT_NE(yaml.find("name: vision_transformer\n"), std::string::npos) << yaml;
}

} // namespace
} // namespace ckpt::test
