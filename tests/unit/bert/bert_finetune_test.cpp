// SPDX-License-Identifier: Apache-2.0
// The fine-tune models (bert-sequence-classifier, bert-token-classifier, bert-qa,
// bert-summarization) on small synthetic HF checkpoints: CS names keep the `bert.` prefix, the
// heads convert, hf -> cs -> hf is bit exact, and the CS release steps rename under `bert.`.
#include "checkpoint_support.hpp"

namespace ckpt::test::bert {
namespace {

/// The encoder tensors of the bert fixture (names and shapes), plus `head`.
Shapes encoder_plus(const Shapes& head)
{
    Shapes out;
    for (const auto& [name, t] : model_tensors(hf("bert", "bin/pytorch_model.bin")))
        if (name.rfind("bert.", 0) == 0)
            out.push_back({name, t->info().shape});
    out.insert(out.end(), head.begin(), head.end());
    return out;
}

/// The bert fixture config with `extra` JSON members added.
void write_config(const fs::path& file, const std::string& extra)
{
    std::string json = read_file(hf("bert", "bin/config.json"));
    json = json.substr(0, json.rfind('}'));
    json = json.substr(0, json.find_last_not_of(" \n") + 1) + ",\n  " + extra + "\n}\n";
    fs::create_directories(file.parent_path());
    write_file(file, json);
}

struct FineTune {
    const char* model;
    const char* hf_head; // HF head prefix
    int64_t labels;
    const char* extra; // config members
};

class BertFineTune : public ::testing::TestWithParam<FineTune> {};

TEST_P(BertFineTune, HfToCsKeepsBertPrefixAndRoundTripsBitExact)
{
    const FineTune f = GetParam();
    TempDir tmp;
    const std::string head = f.hf_head;
    write_patterned_safetensors(tmp / "hf/model.safetensors",
                      encoder_plus({{head + ".weight", {f.labels, 64}}, {head + ".bias", {f.labels}}}));
    write_config(tmp / "hf/config.json", f.extra);
    RunResult r = convert(f.model, "hf", "cs-2.3", tmp / "hf/config.json", tmp / "hf/model.safetensors", tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto cs = model_tensors(tmp / "cs/model_to_cs-2.3.mdl");
    for (const char* name :
         {"bert.embedding_layer.word_embeddings.weight", "bert.embedding_layer.position_embeddings.embed.weight",
          "bert.embedding_layer.segment_embeddings.weight", "bert.embed_ln_f.weight",
          "bert.transformer_encoder.layers.1.self_attn.proj_v_dense_layer.bias",
          "bert.transformer_encoder.layers.0.ffn.ffn.1.linear_layer.weight",
          "bert.pooler.pooler.ffn.0.linear_layer.weight", "classifier.weight", "classifier.bias"})
        EXPECT_TRUE(cs.count(name)) << name;
    EXPECT_EQ(cs.size(), encoder_plus({}).size() + 2);

    r = convert(f.model, "cs-2.3", "hf", tmp / "cs/config_to_cs-2.3.yaml", tmp / "cs/model_to_cs-2.3.mdl",
                tmp / "back");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(
        same_checkpoint(tmp / "back/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json", tmp / "hf/model.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(
    Heads, BertFineTune,
    ::testing::Values(FineTune{"bert-sequence-classifier", "classifier", 3,
                               "\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"},\n  \"problem_type\": "
                               "\"single_label_classification\""},
                      FineTune{"bert-token-classifier", "classifier", 5,
                               "\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\", \"3\": \"d\", \"4\": \"e\"}"},
                      FineTune{"bert-qa", "qa_outputs", 2, "\"num_labels\": 2"}),
    [](const auto& p) {
        std::string n = p.param.model;
        for (auto& c : n)
            if (c == '-')
                c = '_';
        return n;
    });

TEST(BertFineTune, SummarizationCsStepsRenameUnderBertPrefix)
{
    TempDir tmp;
    write_patterned_safetensors(tmp / "hf/model.safetensors",
                      encoder_plus({{"classifier.weight", {1, 64}}, {"classifier.bias", {1}}}));
    write_config(tmp / "hf/config.json", "\"id2label\": {\"0\": \"a\"}");
    RunResult r = convert("bert-sequence-classifier", "hf", "cs-2.1", tmp / "hf/config.json",
                          tmp / "hf/model.safetensors", tmp / "cs21");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path cs21 = tmp / "cs21/model_to_cs-2.1.mdl";
    r = convert("bert-summarization", "cs-2.1", "cs-2.0", tmp / "cs21/config_to_cs-2.1.yaml", cs21, tmp / "cs20");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto cs20 = model_tensors(tmp / "cs20/model_to_cs-2.1_to_cs-2.0.mdl");
    EXPECT_TRUE(cs20.count("bert.embedding_layer.position_embeddings.weight"));
    EXPECT_FALSE(cs20.count("bert.embedding_layer.position_embeddings.embed.weight"));
    r = convert("bert-summarization", "cs-2.0", "cs-2.1", tmp / "cs20/config_to_cs-2.1_to_cs-2.0.yaml",
                tmp / "cs20/model_to_cs-2.1_to_cs-2.0.mdl", tmp / "again");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(compare(model_tensors(tmp / "again/model_to_cs-2.1_to_cs-2.0_to_cs-2.1.mdl"), model_tensors(cs21)), "");
}

} // namespace
} // namespace ckpt::test::bert
