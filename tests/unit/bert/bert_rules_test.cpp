// SPDX-License-Identifier: Apache-2.0
// The bert family's checkpoint rule tables key by key (compiled from the plugin source): rows
// reachable in each direction, shadowed rows, TF-style LayerNorm names, the legacy `model.`
// prefix, pre-2.1 spellings and action names.
#include <gtest/gtest.h>

#include "bert.hpp"

namespace {

using ckpt::bert::CsKeys;
using ckpt::bert::hf_cs_rules;
using ckpt::bert::Variant;

struct Row {
    const char* key;
    int from;         // 0: HF key, 1: CS key
    const char* want; // converted key, or "" when no rule matches
    const char* action;
};

void expect_rows(Variant variant, CsKeys keys, const std::vector<Row>& rows)
{
    auto rules = hf_cs_rules(variant, keys);
    for (const Row& r : rows) {
        auto m = rules->convert(r.key, r.from);
        if (std::string(r.want).empty()) {
            EXPECT_FALSE(m) << r.key << " matched " << (m ? m->new_key : "");
            continue;
        }
        ASSERT_TRUE(m) << r.key << " did not match";
        EXPECT_EQ(m->new_key, r.want) << r.key;
        EXPECT_EQ(m->action->name, r.action) << r.key;
    }
}

TEST(BertRules, PretrainTableBothDirections)
{
    expect_rows(Variant::pretrain, CsKeys::cs21,
                {
                    {"bert.embeddings.position_embeddings.weight", 0,
                     "bert_encoder.embedding_layer.position_embeddings.embed.weight", "position_embeddings_convert"},
                    {"bert_encoder.embedding_layer.position_embeddings.embed.weight", 1,
                     "bert.embeddings.position_embeddings.weight", "position_embeddings_convert"},
                    // The pre-2.1 spelling is still read CS -> HF.
                    {"bert_encoder.embedding_layer.position_embeddings.weight", 1,
                     "bert.embeddings.position_embeddings.weight", "position_embeddings_convert"},
                    {"bert.embeddings.token_type_embeddings.weight", 0,
                     "bert_encoder.embedding_layer.segment_embeddings.weight", "replaceKey"},
                    {"bert.embeddings.position_ids", 0, "bert_encoder.embeddings.position_ids", "None"},
                    {"bert.embeddings.LayerNorm.gamma", 0, "bert_encoder.embed_ln_f.weight", "replaceKey"},
                    {"bert.embeddings.LayerNorm.beta", 0, "bert_encoder.embed_ln_f.bias", "replaceKey"},
                    {"bert_encoder.embed_ln_f.bias", 1, "bert.embeddings.LayerNorm.bias", "replaceKey"},
                    {"bert.encoder.layer.11.attention.output.LayerNorm.gamma", 0,
                     "bert_encoder.transformer_encoder.layers.11.norm1.weight", "replaceKey"},
                    {"bert.encoder.layer.3.output.LayerNorm.beta", 0,
                     "bert_encoder.transformer_encoder.layers.3.norm2.bias", "replaceKey"},
                    {"bert_encoder.transformer_encoder.layers.0.ffn.ffn.0.linear_layer.weight", 1,
                     "bert.encoder.layer.0.intermediate.dense.weight", "replaceKey"},
                    {"bert_encoder.pooler.pooler.ffn.0.linear_layer.bias", 1, "bert.pooler.dense.bias",
                     "bert_pooler_convert"},
                    {"cls.predictions.transform.LayerNorm.gamma", 0, "bert_mlm_head.mlm_transform.ln.weight",
                     "replaceKey"},
                    {"bert_mlm_head.classifier.ffn.0.linear_layer.bias", 1, "cls.predictions.decoder.bias",
                     "convert_cls_predictions_bias"},
                    {"cls.seq_relationship.weight", 0, "bert_cls_head.classifier.ffn.0.linear_layer.weight",
                     "replaceKey"},
                    // Legacy `model.` prefix on the CS side only.
                    {"model.bert_encoder.embed_ln_f.weight", 1, "bert.embeddings.LayerNorm.weight", "replaceKey"},
                    {"model.bert.embeddings.LayerNorm.weight", 0, "", ""},
                    {"bert.encoder.layer.x.output.dense.weight", 0, "", ""},
                });
}

TEST(BertRules, PreCs21SpellingsAndCs17WithoutModelPrefix)
{
    expect_rows(Variant::pretrain, CsKeys::cs18,
                {
                    {"bert.embeddings.position_embeddings.weight", 0,
                     "bert_encoder.embedding_layer.position_embeddings.weight", "position_embeddings_convert"},
                    {"model.bert_encoder.embed_ln_f.weight", 1, "bert.embeddings.LayerNorm.weight", "replaceKey"},
                });
    expect_rows(Variant::pretrain, CsKeys::cs17,
                {
                    {"bert_encoder.embedding_layer.position_embeddings.weight", 1,
                     "bert.embeddings.position_embeddings.weight", "position_embeddings_convert"},
                    {"model.bert_encoder.embed_ln_f.weight", 1, "", ""},
                });
}

TEST(BertRules, RobertaPoolerDroppedFromHfAndReadFromCs)
{
    expect_rows(Variant::roberta, CsKeys::cs21,
                {
                    {"roberta.pooler.dense.weight", 0, "roberta.pooler.dense.weight", "None"},
                    {"bert_encoder.pooler.pooler.ffn.0.linear_layer.weight", 1, "roberta.pooler.dense.weight",
                     "bert_pooler_convert"},
                    {"roberta.embeddings.word_embeddings.weight", 0,
                     "bert_encoder.embedding_layer.word_embeddings.weight", "replaceKey"},
                    {"lm_head.layer_norm.beta", 0, "bert_mlm_head.mlm_transform.ln.bias", "replaceKey"},
                    {"lm_head.decoder.bias", 0, "bert_mlm_head.classifier.ffn.0.linear_layer.bias",
                     "convert_cls_predictions_bias"},
                    {"lm_head.bias", 0, "lm_head.bias", "None"},
                    {"cls.seq_relationship.weight", 0, "", ""},
                });
}

TEST(BertRules, FineTuneKeepBertPrefix)
{
    expect_rows(Variant::sequence_classifier, CsKeys::cs21,
                {
                    {"bert.encoder.layer.0.attention.self.query.weight", 0,
                     "bert.transformer_encoder.layers.0.self_attn.proj_q_dense_layer.weight", "replaceKey"},
                    {"bert.pooler.dense.weight", 0, "bert.pooler.pooler.ffn.0.linear_layer.weight",
                     "bert_pooler_convert"},
                    {"classifier.bias", 1, "classifier.bias", "replaceKey"},
                    {"qa_outputs.bias", 0, "", ""},
                });
    expect_rows(Variant::question_answering, CsKeys::cs21,
                {
                    {"qa_outputs.weight", 0, "classifier.weight", "replaceKey"},
                    {"classifier.bias", 1, "qa_outputs.bias", "replaceKey"},
                });
}

} // namespace
