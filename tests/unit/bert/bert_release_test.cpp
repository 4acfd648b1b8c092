// SPDX-License-Identifier: Apache-2.0
// bert's Cerebras release steps through the real CLI: the cs-2.0 <-> 2.1 renames, a release
// upgrade in one command equal to step by step, the cs-1.9 -> 2.0 tie repair, the cs-1.7 <->
// 1.8 nonlinearity keys and the cs-1.6 rename from HF-like names.
#include "checkpoint_support.hpp"

namespace ckpt::test::bert {
namespace {

const char* const kPosition20 = "bert_encoder.embedding_layer.position_embeddings.weight";
const char* const kPosition21 = "bert_encoder.embedding_layer.position_embeddings.embed.weight";
const char* const kDecoder = "bert_mlm_head.classifier.ffn.0.linear_layer.weight";
const char* const kWords = "bert_encoder.embedding_layer.word_embeddings.weight";

/// `text` with the first `from` replaced by `to` (which must occur).
std::string replaced(std::string text, const std::string& from, const std::string& to)
{
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in\n" << text;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

/// HF -> `tgt` of the bert fixture into `dir`; returns the .mdl path.
fs::path hf_to(const std::string& tgt, const fs::path& dir)
{
    RunResult r = convert("bert", "hf", tgt, hf("bert", "bin/config.json"), hf("bert", "bin/pytorch_model.bin"), dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir / ("pytorch_model_to_" + tgt + ".mdl");
}

TEST(BertRelease, Cs20UsesPre21PositionNamesAndConvertsBackToTheReference)
{
    TempDir tmp;
    const fs::path cs20 = hf_to("cs-2.0", tmp / "cs20");
    auto t = model_tensors(cs20);
    EXPECT_TRUE(t.count(kPosition20));
    EXPECT_FALSE(t.count(kPosition21));
    RunResult r = convert("bert", "cs-2.0", "cs-2.3", tmp / "cs20/config_to_cs-2.0.yaml", cs20, tmp / "cs23");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(compare(model_tensors(tmp / "cs23/pytorch_model_to_cs-2.0_to_cs-2.3.mdl"),
                      model_tensors(ref("bert", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
}

TEST(BertRelease, UpgradeInOneCommandEqualsStepByStep)
{
    TempDir tmp;
    const fs::path cs20 = hf_to("cs-2.0", tmp / "cs20");
    RunResult r = convert("bert", "cs-2.0", "cs-2.4", tmp / "cs20/config_to_cs-2.0.yaml", cs20, tmp / "one");
    ASSERT_EQ(r.exit_code, 0) << r.err;

    fs::path ckpt = cs20, config = tmp / "cs20/config_to_cs-2.0.yaml";
    std::string src = "cs-2.0";
    for (const char* tgt : {"cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4"}) {
        const fs::path dir = tmp / ("step-" + std::string(tgt));
        r = convert("bert", src, tgt, config, ckpt, dir);
        ASSERT_EQ(r.exit_code, 0) << src << " -> " << tgt << "\n" << r.err;
        ckpt = dir / (ckpt.stem().string() + "_to_" + tgt + ".mdl");
        config = dir / (config.stem().string() + "_to_" + tgt + ".yaml");
        src = tgt;
    }
    EXPECT_TRUE(same_checkpoint(tmp / "one/pytorch_model_to_cs-2.0_to_cs-2.4.mdl", ckpt));
    // The cs-2.3 -> 2.4 `name` key belongs to the host's generic step (not added there yet).
    EXPECT_EQ(read_file(tmp / "one/config_to_cs-2.0_to_cs-2.4.yaml"), read_file(config));
}

TEST(BertRelease, Cs19ToCs20RepairsTheMlmDecoderTie)
{
    TempDir tmp;
    // An untied HF model saved to safetensors without its decoder weight gives a CS checkpoint
    // without bert_mlm_head...weight; declared tied, cs-1.9 -> 2.0 restores it.
    fs::create_directories(tmp / "hf");
    write_file(tmp / "hf/config.json", replaced(read_file(hf("bert", "bin/config.json")), "\"vocab_size\": 128",
                                                "\"vocab_size\": 128,\n  \"tie_word_embeddings\": false"));
    RunResult r = convert("bert", "hf", "cs-1.9", tmp / "hf/config.json", hf("bert", "safetensors/model.safetensors"),
                          tmp / "cs19");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path cs19 = tmp / "cs19/model_to_cs-1.9.mdl";
    ASSERT_FALSE(model_tensors(cs19).count(kDecoder));
    const std::string yaml = read_file(tmp / "cs19/config_to_cs-1.9.yaml");
    write_file(tmp / "tied.yaml", replaced(yaml, "share_embedding_weights: false", "share_embedding_weights: true"));
    r = convert("bert", "cs-1.9", "cs-2.0", tmp / "tied.yaml", cs19, tmp / "cs20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(std::string(kDecoder) + " restored from " + kWords), std::string::npos) << r.err;
    auto t = model_tensors(tmp / "cs20/model_to_cs-1.9_to_cs-2.0.mdl");
    ASSERT_TRUE(t.count(kDecoder));
    EXPECT_TRUE(equal_bytes(*t.at(kDecoder), *t.at(kWords)));
    // Untied, nothing is invented.
    r = convert("bert", "cs-1.9", "cs-2.0", tmp / "cs19/config_to_cs-1.9.yaml", cs19, tmp / "untied");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(model_tensors(tmp / "untied/model_to_cs-1.9_to_cs-2.0.mdl").count(kDecoder));
}

TEST(BertRelease, Cs17ToCs18AddsNonlinearitiesAndBackRemovesThem)
{
    TempDir tmp;
    write_file(tmp / "cs17.yaml", "model:\n    encoder_nonlinearity: relu\n    hidden_size: 64\n");
    RunResult r = convert_config("bert", "cs-1.7", "cs-1.8", tmp / "cs17.yaml", tmp / "up");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string up = read_file(tmp / "up/cs17_to_cs-1.8.yaml");
    EXPECT_EQ(up, "model:\n    encoder_nonlinearity: relu\n    hidden_size: 64\n    mlm_nonlinearity: gelu\n"
                  "    pooler_nonlinearity: relu\n");
    r = convert_config("bert", "cs-1.8", "cs-1.7", tmp / "up/cs17_to_cs-1.8.yaml", tmp / "down");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(tmp / "down/cs17_to_cs-1.8_to_cs-1.7.yaml"), read_file(tmp / "cs17.yaml"));
}

TEST(BertRelease, Cs16HasHfNamesAndUpgradesToTheReference)
{
    TempDir tmp;
    const fs::path cs18 = hf_to("cs-1.8", tmp / "cs18");
    // cs-1.6/1.7 apply the encoder activation in the pooler; state it so the downgrade is exact.
    const std::string yaml = read_file(tmp / "cs18/config_to_cs-1.8.yaml");
    write_file(tmp / "cs18.yaml", replaced(yaml, "pooler_nonlinearity: tanh", "pooler_nonlinearity: gelu"));
    RunResult r = convert("bert", "cs-1.8", "cs-1.6", tmp / "cs18.yaml", cs18, tmp / "cs16");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path cs16 = tmp / "cs16/pytorch_model_to_cs-1.8_to_cs-1.6.mdl";
    // The HF-like names of cs-1.6: exactly the HF state dict (the tied bias alias included).
    EXPECT_EQ(compare(model_tensors(cs16), model_tensors(hf("bert", "bin/pytorch_model.bin"))), "");

    r = convert("bert", "cs-1.6", "cs-1.7", tmp / "cs16/cs18_to_cs-1.6.yaml", cs16, tmp / "cs17");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto cs17 = model_tensors(tmp / "cs17/pytorch_model_to_cs-1.8_to_cs-1.6_to_cs-1.7.mdl");
    EXPECT_TRUE(cs17.count(kPosition20));
    EXPECT_EQ(compare(cs17, model_tensors(cs18)), "");

    r = convert("bert", "cs-1.6", "cs-2.3", tmp / "cs16/cs18_to_cs-1.6.yaml", cs16, tmp / "cs23");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(compare(model_tensors(tmp / "cs23/pytorch_model_to_cs-1.8_to_cs-1.6_to_cs-2.3.mdl"),
                      model_tensors(ref("bert", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
}

TEST(BertRelease, RobertaCs20RoundTrip)
{
    TempDir tmp;
    RunResult r = convert("roberta", "cs-2.3", "cs-2.0", ref("roberta", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("roberta", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "cs20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path cs20 = tmp / "cs20/pytorch_model_to_cs-2.3_to_cs-2.0.mdl";
    EXPECT_TRUE(model_tensors(cs20).count(kPosition20));
    r = convert("roberta", "cs-2.0", "hf", tmp / "cs20/config_to_cs-2.3_to_cs-2.0.yaml", cs20, tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(same_checkpoint(tmp / "hf/pytorch_model_to_cs-2.3_to_cs-2.0_to_hf/pytorch_model.bin.index.json",
                                hf("roberta", "bin/pytorch_model.bin")));
}

TEST(BertRelease, CsToHfRestoresTiedWordEmbeddingsFromTheMlmDecoder)
{
    // A cstorch checkpoint whose tied word embeddings were saved as None: make one by converting
    // an HF state dict that lacks them (the decoder weight present).
    TempDir tmp;
    Shapes shapes;
    for (const auto& [name, t] : model_tensors(hf("bert", "bin/pytorch_model.bin")))
        if (name != "bert.embeddings.word_embeddings.weight")
            shapes.push_back({name, t->info().shape});
    write_patterned_safetensors(tmp / "hf/model.safetensors", shapes);
    RunResult r =
        convert("bert", "hf", "cs-2.3", hf("bert", "bin/config.json"), tmp / "hf/model.safetensors", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_FALSE(model_tensors(tmp / "cs/model_to_cs-2.3.mdl").count(kWords));
    r = convert("bert", "cs-2.3", "hf", tmp / "cs/config_to_cs-2.3.yaml", tmp / "cs/model_to_cs-2.3.mdl", tmp / "back");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("bert.embeddings.word_embeddings.weight restored from " + std::string(kDecoder)),
              std::string::npos)
        << r.err;
    auto back = model_tensors(tmp / "back/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    ASSERT_TRUE(back.count("bert.embeddings.word_embeddings.weight"));
    EXPECT_TRUE(
        equal_bytes(*back.at("bert.embeddings.word_embeddings.weight"), *back.at("cls.predictions.decoder.weight")));
}

TEST(BertRelease, RobertaWithoutSegmentsGetsZeroTokenTypeEmbeddings)
{
    TempDir tmp;
    Shapes shapes;
    const std::string token_types = "roberta.embeddings.token_type_embeddings.weight";
    for (const auto& [name, t] : model_tensors(hf("roberta", "bin/pytorch_model.bin")))
        if (name != token_types)
            shapes.push_back({name, t->info().shape});
    write_patterned_safetensors(tmp / "hf/model.safetensors", shapes);
    RunResult r =
        convert("roberta", "hf", "cs-2.3", hf("roberta", "bin/config.json"), tmp / "hf/model.safetensors", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(tmp / "cs/config_to_cs-2.3.yaml");
    write_file(tmp / "cs0.yaml", replaced(yaml, "num_segments: 1", "num_segments: 0"));
    r = convert("roberta", "cs-2.3", "hf", tmp / "cs0.yaml", tmp / "cs/model_to_cs-2.3.mdl", tmp / "back");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto back = model_tensors(tmp / "back/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    ASSERT_TRUE(back.count(token_types));
    EXPECT_EQ(back.at(token_types)->info().shape, (std::vector<int64_t>{1, 64}));
    for (std::byte b : read_all(*back.at(token_types)))
        ASSERT_EQ(b, std::byte{0});
    EXPECT_NE(read_file(tmp / "back/model_to_cs-2.3_to_hf/config.json").find("\"type_vocab_size\": 1"),
              std::string::npos);
}

// cs-2.3 -> cs-2.4 is a generic release step; the `name` it adds is the Model Zoo registry name
// each plugin declares (ABI 1.1), not the CLI model name.
TEST(BertRelease, Cs23ToCs24WritesTheRegistryName)
{
    TempDir tmp;
    write_file(tmp / "c.yaml", "trainer:\n  init:\n    model:\n      hidden_size: 64\n");
    const std::pair<const char*, const char*> cases[] = {{"bert", "bert"},
                                                         {"roberta", "bert"},
                                                         {"bert-sequence-classifier", "bert/classifier"},
                                                         {"bert-token-classifier", "bert/token_classifier"},
                                                         {"bert-summarization", "bert/extractive_summarization"}};
    for (const auto& [model, registry] : cases) {
        const fs::path out = tmp / model;
        RunResult r = convert_config(model, "cs-2.3", "cs-2.4", tmp / "c.yaml", out);
        ASSERT_EQ(r.exit_code, 0) << model << ": " << r.err;
        EXPECT_EQ(read_file(out / "c_to_cs-2.4.yaml"),
                  std::string("trainer:\n    init:\n        model:\n            hidden_size: 64\n            name: ") +
                      registry + "\n")
            << model;
    }
}

} // namespace
} // namespace ckpt::test::bert
