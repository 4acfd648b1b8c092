// SPDX-License-Identifier: Apache-2.0
// bert and roberta through the real CLI: tied aliases in safetensors exports, the --debug lines
// and the release extras (the Model Zoo references and round trips are rows of
// tests/conformance/conformance_test.cpp).
#include "checkpoint_support.hpp"

#include <algorithm>
#include <set>

namespace ckpt::test::bert {
namespace {

struct Family {
    const char* name;         // --model and fixture folder
    const char* decoder_bias; // the alias safetensors keeps only once
};

const Family kBert{"bert", "cls.predictions.decoder.bias"};
const Family kRoberta{"roberta", "lm_head.decoder.bias"};

class BertSafetensors : public ::testing::TestWithParam<Family> {};

TEST_P(BertSafetensors, SafetensorsExportKeepsOneNamePerTiedBiasAndConvertsBack)
{
    const Family f = GetParam();
    TempDir tmp;
    RunResult r = convert(f.name, "cs-2.3", "hf", ref(f.name, "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref(f.name, "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "hf", {"--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path out = tmp / "hf/pytorch_model_to_cs-2.3_to_hf";
    // Safetensors stores one name per storage; the kept one is the name transformers keeps.
    EXPECT_EQ(compare(model_tensors(out / "model.safetensors.index.json"),
                      model_tensors(hf(f.name, "bin/pytorch_model.bin"))),
              std::string("only right: ") + f.decoder_bias + "\n");
    r = convert(f.name, "hf", "cs-2.3", out / "config.json", out / "model.safetensors.index.json", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "cs/model_to_cs-2.3.mdl", ref(f.name, "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
    EXPECT_EQ(read_file(tmp / "cs/config_to_cs-2.3.yaml"), read_file(ref(f.name, "hf_to_cs/config_to_cs-2.3.yaml")));
}

INSTANTIATE_TEST_SUITE_P(Families, BertSafetensors, ::testing::Values(kBert, kRoberta),
                         [](const auto& p) { return std::string(p.param.name); });

// The Model Zoo run kept no --debug logs for bert, so the lines are checked against the
// table of spec/mappings.md §2.3 b: one line per source tensor, in file order, with the
// Model Zoo's action names.
TEST(BertDebug, OneMatchedLinePerTensorWithModelZooActionNames)
{
    TempDir tmp;
    RunResult r = convert("bert", "hf", "cs-2.3", hf("bert", "bin/config.json"), hf("bert", "bin/pytorch_model.bin"),
                          tmp.path(), {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = matched_lines(r.err);
    std::set<std::string> seen;
    size_t tensors = 0;
    for (const auto& l : lines)
        if (l.find(" -> bert_") != std::string::npos || l.find(" -> cls.") != std::string::npos) {
            ++tensors;
            seen.insert(l);
        }
    EXPECT_EQ(tensors, model_tensors(hf("bert", "bin/pytorch_model.bin")).size());
    for (const char* expected :
         {"Matched bert.embeddings.position_embeddings.weight -> "
          "bert_encoder.embedding_layer.position_embeddings.embed.weight action: position_embeddings_convert",
          "Matched bert.pooler.dense.weight -> bert_encoder.pooler.pooler.ffn.0.linear_layer.weight action: "
          "bert_pooler_convert",
          "Matched cls.predictions.decoder.bias -> bert_mlm_head.classifier.ffn.0.linear_layer.bias action: "
          "convert_cls_predictions_bias",
          "Matched cls.predictions.bias -> cls.predictions.bias action: None",
          "Matched bert.encoder.layer.1.output.LayerNorm.bias -> bert_encoder.transformer_encoder.layers.1.norm2.bias "
          "action: replaceKey"})
        EXPECT_TRUE(seen.count(expected)) << expected << "\n" << r.err;
    // Config lines come first, from the HF json (after its defaults).
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        "Matched position_embedding_type -> position_embedding_type action: "
                        "convert_position_embedding_type"),
              lines.end());
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        "Matched type_vocab_size -> type_vocab_size action: assert_factory_wrapper"),
              lines.end());
}

TEST(BertDebug, RobertaRulesShowTheirActionNames)
{
    TempDir tmp;
    RunResult r = convert("roberta", "hf", "cs-2.3", hf("roberta", "bin/config.json"),
                          hf("roberta", "bin/pytorch_model.bin"), tmp.path(), {"--debug"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = matched_lines(r.err);
    EXPECT_NE(std::find(lines.begin(), lines.end(), "Matched lm_head.bias -> lm_head.bias action: None"), lines.end())
        << r.err;
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        "Matched max_position_embeddings -> max_position_embeddings action: convert_max_pos_embed"),
              lines.end())
        << r.err;
    EXPECT_NE(
        std::find(lines.begin(), lines.end(), "Matched type_vocab_size -> num_segments action: convert_num_segments"),
        lines.end())
        << r.err;
}

TEST(BertTargets, Cs21And22AddEnableVtsDropFreezeAndCs24AddsName)
{
    TempDir tmp;
    for (const char* tgt : {"cs-2.1", "cs-2.2", "cs-2.4"}) {
        RunResult r = convert_config("bert", "hf", tgt, hf("bert", "bin/config.json"), tmp / tgt);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const std::string cs21 = read_file(tmp / "cs-2.1/config_to_cs-2.1.yaml");
    const std::string cs23 = read_file(ref("bert", "hf_to_cs/config_to_cs-2.3.yaml"));
    EXPECT_EQ(cs21, read_file(tmp / "cs-2.2/config_to_cs-2.2.yaml"));
    // cs-2.1/2.2 = the cs-2.3 reference plus enable_vts (the 2.3 release's CS21 converter),
    // without freeze_ffn_bias_in_glu, which no release before 2.3 knows (release_gate.hpp).
    std::string expected = cs23;
    expected.insert(expected.find("    encoder_nonlinearity"), "    enable_vts: false\n");
    const std::string freeze = "    freeze_ffn_bias_in_glu: false\n";
    ASSERT_NE(expected.find(freeze), std::string::npos);
    expected.erase(expected.find(freeze), freeze.size());
    EXPECT_EQ(cs21, expected);
    const std::string cs24 = read_file(tmp / "cs-2.4/config_to_cs-2.4.yaml");
    EXPECT_NE(cs24.find("\n    name: bert\n"), std::string::npos) << cs24;
    EXPECT_EQ(cs24.find("mixed_precision"), std::string::npos) << cs24;
    EXPECT_EQ(cs24.find("enable_vts"), std::string::npos) << cs24;

    RunResult r = convert_config("roberta", "hf", "cs-2.5", hf("roberta", "bin/config.json"), tmp / "rob");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string rob = read_file(tmp / "rob/config_to_cs-2.5.yaml");
    EXPECT_NE(rob.find("\n    name: bert\n"), std::string::npos) << rob; // roberta's registry name
    EXPECT_EQ(rob.find("enable_vts"), std::string::npos) << rob;
}

} // namespace
} // namespace ckpt::test::bert
