// SPDX-License-Identifier: Apache-2.0
// The Model Zoo class paths of cs_module_classes against docs/mappings-lora-classes.md, one
// tensor per tree and per point where the trees differ.
#include "lora/cs_module_classes.hpp"

#include <gtest/gtest.h>

namespace ckpt::lora {
namespace {

using Classes = std::vector<std::string>;

Classes classes_of(const std::string& model, const std::string& module, const Node& config = Node::map())
{
    auto c = cs_module_classes(model, module, config);
    return c ? *c : Classes{"(none)"};
}

TEST(CsModuleClasses, DecodersDifferOnlyInTheLayerClass)
{
    Node mqa = Node::map();
    mqa.set("attention_module", Node(std::string("multiquery_attention")));
    EXPECT_EQ(classes_of("gpt-neox-headless", "model.transformer_decoder.layers.3.self_attn.proj_k_dense_layer", mqa),
              (Classes{"GptjModel", "GPTJModel", "TransformerDecoder", "ModuleList", "GPTJDecoderLayer",
                       "MultiQueryAttention", "Linear"}));
    EXPECT_EQ(classes_of("llama", "transformer_decoder.layers.0.ffn.ffn.0.linear_layer_for_glu"),
              (Classes{"Gpt2Model", "GPT2LMHeadModel", "TransformerDecoder", "ModuleList", "TransformerDecoderLayer",
                       "FeedForwardNetwork", "ModuleList", "SingleFeedForwardLayer", "Linear"}));
    EXPECT_EQ(classes_of("mixtral", "transformer_decoder.layers.1.ffn.gate"),
              (Classes{"Gpt2Model", "GPT2LMHeadModel", "TransformerDecoder", "ModuleList", "TransformerDecoderLayer",
                       "SparseMoEBlock", "Linear"}));
    EXPECT_EQ(classes_of("falcon", "lm_head"), (Classes{"GptjModel", "GPTJModel", "Linear"}));
}

TEST(CsModuleClasses, BertAndItsHeads)
{
    EXPECT_EQ(classes_of("roberta", "model.bert_encoder.embedding_layer.position_embeddings.embed"),
              (Classes{"BertForPreTrainingModel", "BertPretrainModel", "BertModel", "EmbeddingLayer",
                       "LearnedPositionEmbeddingLayer", "Embedding"}));
    EXPECT_EQ(classes_of("bert", "bert_mlm_head.classifier.ffn.0.linear_layer"),
              (Classes{"BertForPreTrainingModel", "BertPretrainModel", "BertMLMHead", "FeedForwardNetwork",
                       "ModuleList", "SingleFeedForwardLayer", "Linear"}));
    EXPECT_EQ(classes_of("bert-token-classifier", "bert.transformer_encoder.layers.1.self_attn.proj_output_dense_layer"),
              (Classes{"BertForTokenClassificationModel", "BertForTokenClassification", "BertModel",
                       "TransformerEncoder", "ModuleList", "TransformerEncoderLayer", "MultiheadAttention", "Linear"}));
    EXPECT_EQ(classes_of("bert-summarization", "classifier"),
              (Classes{"BertSummarizationModel", "BertForSummarization", "Linear"}));
    EXPECT_EQ(classes_of("bert-qa", "model.classifier"), (Classes{"BertForQuestionAnswering", "Linear"}));
    // Pre-training names are not fine-tuning names, and the reverse.
    EXPECT_EQ(classes_of("bert", "bert.pooler.pooler.ffn.0.linear_layer"), Classes{"(none)"});
    EXPECT_EQ(classes_of("bert-sequence-classifier", "bert_encoder.pooler.pooler.ffn.0.linear_layer"),
              Classes{"(none)"});
}

TEST(CsModuleClasses, T5CrossAttentionHasTheSelfAttentionClass)
{
    const Classes cross = classes_of("t5", "model.decoder.layers.1.multihead_attn.proj_v_dense_layer");
    EXPECT_EQ(cross, (Classes{"T5ForConditionalGenerationModel", "T5ForConditionalGeneration", "TransformerDecoder",
                              "ModuleList", "TransformerDecoderLayer", "MultiheadAttention", "Linear"}));
    EXPECT_EQ(classes_of("t5", "decoder.layers.1.self_attn.proj_v_dense_layer"), cross);
    EXPECT_EQ(classes_of("t5", "encoder_embeddings.position_embed_helper.relative_attention_bias"),
              (Classes{"T5ForConditionalGenerationModel", "T5ForConditionalGeneration", "EmbeddingLayer",
                       "RelativePositionEmbeddingLayer", "Embedding"}));
    EXPECT_EQ(classes_of("t5", "encoder.layers.0.ffn.ffn.1.linear_layer"),
              (Classes{"T5ForConditionalGenerationModel", "T5ForConditionalGeneration", "TransformerEncoder",
                       "ModuleList", "TransformerEncoderLayer", "FeedForwardNetwork", "ModuleList",
                       "SingleFeedForwardLayer", "Linear"}));
}

TEST(CsModuleClasses, UnknownModelsAndTiedPairs)
{
    EXPECT_FALSE(cs_module_classes("esm-2", "esm.encoder.layer.0.attention.self.query", Node::map()));
    EXPECT_FALSE(cs_module_classes("t5", "encoder.layers.0.norm1", Node::map()));
    EXPECT_EQ(cs_leaf_class("esm.embeddings.word_embeddings"), "Embedding");
    EXPECT_EQ(cs_leaf_class("esm.encoder.layer.0.attention.self.query"), "Linear");
    EXPECT_EQ(cs_tied_embedding("codegen-headless").output, "lm_head");
    EXPECT_EQ(cs_tied_embedding("bert").output, "bert_mlm_head.classifier.ffn.0.linear_layer");
    EXPECT_EQ(cs_tied_embedding("bert-sequence-classifier").input, "");
    EXPECT_EQ(cs_tied_embedding("t5").encoder_input, "encoder_embeddings.word_embeddings");
    EXPECT_EQ(cs_tied_embedding("clip-vit").input, "");
}

} // namespace
} // namespace ckpt::lora
