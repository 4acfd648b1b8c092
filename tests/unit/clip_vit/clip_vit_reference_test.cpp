// SPDX-License-Identifier: Apache-2.0
// What only the clip_vit plugin does, against the Model Zoo's own outputs (tests/data/cs-ref/clip_vit):
// the class token's position row moved where CS keeps it, hf -> cs -> hf bit-exact, the HF config
// with our documented additions. The behaviours every family shares are in tests/unit/families.
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
        RunResult r = convert_hf("clip-vit", hf("bin/pytorch_model.bin"), out / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        r = convert_cs23_to_hf("clip-vit", out / "cs", out / "hf", safetensors);
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

TEST(ClipVitReference, ConvertConfigToHf)
{
    TempDir out;
    RunResult r = run_bundled({"convert-config", "--model", "clip-vit", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf",
                               "--config", ref("hf_to_cs/config_to_cs-2.3.yaml").string(), "--output-dir",
                               out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node mine = read_config(out / "config_to_cs-2.3_to_hf.json");
    mine.erase("architectures");
    EXPECT_TRUE(mine == read_config(ref("config_cs_to_hf/config_to_cs-2.3_to_hf.json")))
        << read_file(out / "config_to_cs-2.3_to_hf.json");
}

} // namespace
} // namespace ckpt::test
