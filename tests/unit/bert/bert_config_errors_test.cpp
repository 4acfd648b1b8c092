// SPDX-License-Identifier: Apache-2.0
// Every ConfigConversionError of the bert family's config tables and release steps
// (spec/mappings.md §2.3 c, §2.15, §3), with the Model Zoo's wording where it has one, through
// `ckptconv convert-config` on small hand-written configs.
#include "checkpoint_support.hpp"

namespace ckpt::test::bert {
namespace {

struct ErrorCase {
    const char* name;
    const char* model;
    const char* src; // "hf" (body is a JSON object's members) or a CS release (body is the model section)
    const char* tgt;
    const char* body;
    const char* message;
};

RunResult run_case(const TempDir& tmp, const ErrorCase& c)
{
    fs::path file;
    if (std::string(c.src) == "hf") {
        file = tmp / "hf.json";
        write_file(file, std::string("{\n  \"hidden_size\": 64") + (*c.body ? ",\n  " : "") + c.body + "\n}\n");
    } else {
        file = tmp / "cs.yaml";
        write_file(file, std::string("model:\n") + c.body);
    }
    return convert_config(c.model, c.src, c.tgt, file, tmp / "out");
}

class BertConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(BertConfigError, Raises)
{
    const ErrorCase c = GetParam();
    TempDir tmp;
    RunResult r = run_case(tmp, c);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(std::string("ConfigConversionError: ") + c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "out") && !fs::is_empty(tmp / "out"));
}

// A CS model section every BERT CS -> HF conversion accepts; cases add one key to it.
#define CS_OK "    encoder_nonlinearity: gelu\n    pooler_nonlinearity: tanh\n"
#define ROBERTA_OK CS_OK "    disable_nsp: true\n    mask_padding_in_positional_embed: true\n"

INSTANTIATE_TEST_SUITE_P(
    BertTable, BertConfigError,
    ::testing::Values(
        ErrorCase{"hf_model_type", "bert", "hf", "cs-2.3", "\"model_type\": \"roberta\"",
                  "Can't convert config with model_type=roberta. Only bert is supported."},
        ErrorCase{"hf_position_type", "bert", "hf", "cs-2.3", "\"position_embedding_type\": \"relative_key\"",
                  "CS model doesn't support HF's position_embedding_type=relative_key"},
        ErrorCase{"hf_type_vocab", "bert", "hf", "cs-2.3", "\"type_vocab_size\": 3",
                  "Can't convert config with type_vocab_size=3. Only 2 is supported."},
        ErrorCase{"hf_is_decoder", "bert", "hf", "cs-2.3", "\"is_decoder\": true",
                  "Can't convert config with is_decoder=True. Only False is supported."},
        ErrorCase{"hf_cross_attention", "bert", "hf", "cs-2.3", "\"add_cross_attention\": true",
                  "Can't convert config with add_cross_attention=True. Only False is supported."},
        ErrorCase{"hf_has_cs_key", "bert", "hf", "cs-2.3", "\"pooler_nonlinearity\": \"tanh\"",
                  "pooler_nonlinearity should not appear in the config"},
        ErrorCase{"cs_has_hf_key", "bert", "cs-2.3", "hf", CS_OK "    model_type: bert\n",
                  "model_type should not appear in the config"},
        ErrorCase{"cs_position_type", "bert", "cs-2.3", "hf", CS_OK "    position_embedding_type: fixed\n",
                  "HF model doesn't support CS's position_embedding_type=fixed"},
        ErrorCase{"cs_mlm", "bert", "cs-2.3", "hf", CS_OK "    mlm_nonlinearity: relu\n",
                  "HF model doesn't support different encoder & mlm nonlinearities"},
        ErrorCase{"cs_pooler", "bert", "cs-2.3", "hf", "    pooler_nonlinearity: gelu\n",
                  "Can't convert config with pooler_nonlinearity=gelu. Only tanh is supported."},
        ErrorCase{"cs_pooler_from_encoder", "bert", "cs-2.3", "hf", "    encoder_nonlinearity: relu\n",
                  "CS Model used a pooler_nonlinearity of relu according to encoder_nonlinearity. HF only supports "
                  "tanh in the pooler nonlinearity."},
        ErrorCase{"cs_pooler_default_encoder", "bert", "cs-2.3", "hf", "    hidden_size: 64\n",
                  "CS Model used a pooler_nonlinearity of gelu according to encoder_nonlinearity."},
        ErrorCase{"cs_disable_nsp", "bert", "cs-2.3", "hf", CS_OK "    disable_nsp: true\n",
                  "Can't convert config with disable_nsp=True. Only False is supported."},
        ErrorCase{"cs_attention_type", "bert", "cs-2.3", "hf", CS_OK "    attention_type: dot_product\n",
                  "Can't convert config with attention_type=dot_product. Only scaled_dot_product is supported."},
        ErrorCase{"cs_projection_bias", "bert", "cs-2.3", "hf", CS_OK "    use_projection_bias_in_attention: false\n",
                  "Can't convert config with use_projection_bias_in_attention=False. Only True is supported."},
        ErrorCase{"cs_ffn_bias_in_attention", "bert", "cs-2.3", "hf", CS_OK "    use_ffn_bias_in_attention: false\n",
                  "Can't convert config with use_ffn_bias_in_attention=False. Only True is supported."},
        ErrorCase{"cs_ffn_bias", "bert", "cs-2.3", "hf", CS_OK "    use_ffn_bias: false\n",
                  "Can't convert config with use_ffn_bias=False. Only True is supported."},
        ErrorCase{"cs_ffn_bias_in_mlm", "bert", "cs-2.3", "hf", CS_OK "    use_ffn_bias_in_mlm: false\n",
                  "Can't convert config with use_ffn_bias_in_mlm=False. Only True is supported."},
        ErrorCase{"cs_output_bias_in_mlm", "bert", "cs-2.3", "hf", CS_OK "    use_output_bias_in_mlm: false\n",
                  "Can't convert config with use_output_bias_in_mlm=False. Only True is supported."},
        ErrorCase{"cs21_same_table", "bert", "cs-2.1", "hf", CS_OK "    use_ffn_bias: false\n",
                  "Can't convert config with use_ffn_bias=False. Only True is supported."}),
    [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(
    RobertaTable, BertConfigError,
    ::testing::Values(
        ErrorCase{"hf_model_type", "roberta", "hf", "cs-2.3", "\"model_type\": \"bert\"",
                  "Can't convert config with model_type=bert. Only roberta is supported."},
        ErrorCase{"cs_disable_nsp_default", "roberta", "cs-2.3", "hf",
                  CS_OK "    mask_padding_in_positional_embed: true\n",
                  "Can't convert config with disable_nsp=False. Only True is supported."},
        ErrorCase{"cs_mask_padding_default", "roberta", "cs-2.3", "hf", CS_OK "    disable_nsp: true\n",
                  "Can't convert config with mask_padding_in_positional_embed=False. Only True is supported."},
        ErrorCase{"cs_mlm", "roberta", "cs-2.3", "hf", ROBERTA_OK "    mlm_nonlinearity: relu\n",
                  "Can't convert config with mlm_nonlinearity=relu. Only gelu is supported."},
        ErrorCase{"cs_position_type", "roberta", "cs-2.3", "hf", ROBERTA_OK "    position_embedding_type: fixed\n",
                  "HF model doesn't support CS's position_embedding_type=fixed"},
        ErrorCase{"cs_pooler", "roberta", "cs-2.3", "hf", ROBERTA_OK "    attention_type: dot_product\n",
                  "Can't convert config with attention_type=dot_product. Only scaled_dot_product is supported."}),
    [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(FineTuneTables, BertConfigError,
                         ::testing::Values(ErrorCase{"sequence_problem_type", "bert-sequence-classifier", "hf",
                                                     "cs-2.3", "\"id2label\": {\"0\": \"a\", \"1\": \"b\"}",
                                                     "Cannot infer the problem_type from num_labels=2."},
                                           ErrorCase{"sequence_default_labels", "bert-sequence-classifier", "hf",
                                                     "cs-2.3", "", "Cannot infer the problem_type from num_labels=2."},
                                           ErrorCase{"qa_labels", "bert-qa", "hf", "cs-2.3", "\"num_labels\": 3",
                                                     "Can't convert config with num_labels=3. Only 2 is supported."},
                                           ErrorCase{"qa_labels_from_id2label", "bert-qa", "hf", "cs-2.3",
                                                     "\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}",
                                                     "Can't convert config with num_labels=3. Only 2 is supported."},
                                           ErrorCase{
                                               "token_cs_mlm", "bert-token-classifier", "cs-2.3", "hf",
                                               CS_OK "    mlm_nonlinearity: relu\n",
                                               "HF model doesn't support different encoder & mlm nonlinearities"}),
                         [](const auto& p) { return std::string(p.param.name); });

INSTANTIATE_TEST_SUITE_P(
    ReleaseSteps, BertConfigError,
    ::testing::Values(
        ErrorCase{"cs18_pooler_to_cs17", "bert", "cs-1.8", "cs-1.7",
                  "    encoder_nonlinearity: gelu\n    pooler_nonlinearity: tanh\n    mlm_nonlinearity: gelu\n",
                  "Can't convert config with pooler_nonlinearity=tanh to cs-1.7"},
        ErrorCase{"cs18_mlm_to_cs17", "bert", "cs-1.8", "cs-1.7",
                  "    encoder_nonlinearity: relu\n    pooler_nonlinearity: relu\n    mlm_nonlinearity: relu\n",
                  "Can't convert config with mlm_nonlinearity=relu to cs-1.7. Only gelu is supported."},
        ErrorCase{"cs18_default_mlm_to_cs17", "bert-qa", "cs-2.0", "cs-1.7", "    encoder_nonlinearity: relu\n",
                  "Can't convert config with encoder_nonlinearity=relu and no mlm_nonlinearity to cs-1.7"},
        ErrorCase{"cs18_to_cs16", "bert", "cs-1.9", "cs-1.6",
                  "    encoder_nonlinearity: gelu\n    pooler_nonlinearity: tanh\n",
                  "Can't convert config with pooler_nonlinearity=tanh to cs-1.6"},
        ErrorCase{"cs21_fp16_type_to_cs20", "roberta", "cs-2.1", "cs-2.0", "    fp16_type: float8\n",
                  "Can't convert config with fp16_type=float8 to cs-2.0. Only ['bfloat16', 'cbfloat16', 'float16'] "
                  "is supported."}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(BertConfig, RobertaCsDefaultsNumSegmentsFromDisableNsp)
{
    TempDir tmp;
    write_file(tmp / "cs.yaml", "model:\n" ROBERTA_OK "    max_position_embeddings: 64\n    pad_token_id: 1\n");
    RunResult r = convert_config("roberta", "cs-2.3", "hf", tmp / "cs.yaml", tmp / "out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string json = read_file(tmp / "out/cs_to_hf.json");
    // disable_nsp: no segments (0), which HF spells type_vocab_size 1; positions + pad + 1.
    EXPECT_NE(json.find("\"type_vocab_size\": 1"), std::string::npos) << json;
    EXPECT_NE(json.find("\"max_position_embeddings\": 66"), std::string::npos) << json;
    EXPECT_NE(json.find("\"model_type\": \"roberta\""), std::string::npos) << json;
}

TEST(BertConfig, FineTuneKeysAndDefaults)
{
    TempDir tmp;
    write_file(tmp / "seq.json", "{\"hidden_size\": 64, \"hidden_dropout_prob\": 0.2, \"classifier_dropout\": null, "
                                 "\"id2label\": {\"0\": \"a\"}}\n");
    RunResult r = convert_config("bert-sequence-classifier", "hf", "cs-2.3", tmp / "seq.json", tmp / "seq");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string seq = read_file(tmp / "seq/seq_to_cs-2.3.yaml");
    EXPECT_NE(seq.find("    num_labels: 1\n"), std::string::npos) << seq;
    EXPECT_NE(seq.find("    problem_type: regression\n"), std::string::npos) << seq;
    EXPECT_NE(seq.find("    task_dropout: 0.2\n"), std::string::npos) << seq;
    EXPECT_EQ(seq.find("freeze_ffn_bias_in_glu"), std::string::npos) << seq;

    write_file(tmp / "tok.json", "{\"hidden_size\": 64, \"classifier_dropout\": 0.3}\n");
    r = convert_config("bert-token-classifier", "hf", "cs-2.4", tmp / "tok.json", tmp / "tok");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string tok = read_file(tmp / "tok/tok_to_cs-2.4.yaml");
    for (const char* line : {"    encoder_output_dropout_rate: 0.3\n", "    num_classes: 2\n", "    loss_weight: 1.0\n",
                             "    include_padding_in_loss: false\n", "    name: bert/token_classifier\n"})
        EXPECT_NE(tok.find(line), std::string::npos) << line << tok;

    write_file(tmp / "qa.yaml", "model:\n" CS_OK);
    r = convert_config("bert-qa", "cs-2.3", "hf", tmp / "qa.yaml", tmp / "qa");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string qa = read_file(tmp / "qa/qa_to_hf.json");
    EXPECT_NE(qa.find("\"num_labels\": 2"), std::string::npos) << qa;
    EXPECT_NE(qa.find("\"BertForQuestionAnswering\""), std::string::npos) << qa;
}

} // namespace
} // namespace ckpt::test::bert
