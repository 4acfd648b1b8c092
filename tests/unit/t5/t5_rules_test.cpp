// SPDX-License-Identifier: Apache-2.0
// The T5 checkpoint rule tables key by key (compiled from the plugin source): the rows reachable
// in each direction, the legacy `model.` prefix, legacy cs-1.6 names, and the action names.
#include <gtest/gtest.h>

#include "t5.hpp"

namespace {

struct Row {
    const char* key;
    int from;         // 0: side-0 key (HF / cs-1.6), 1: side-1 key (Cerebras)
    const char* want; // converted key, or "" when no rule matches
    const char* action;
};

void expect_rows(const ckpt::sdk::CheckpointRules& rules, const std::vector<Row>& rows)
{
    for (const Row& r : rows) {
        auto m = rules.convert(r.key, r.from);
        if (std::string(r.want).empty()) {
            EXPECT_FALSE(m) << r.key << " matched " << (m ? m->new_key : "");
            continue;
        }
        ASSERT_TRUE(m) << r.key << " did not match";
        EXPECT_EQ(m->new_key, r.want) << r.key;
        EXPECT_EQ(m->action->name, r.action) << r.key;
    }
}

TEST(T5Rules, HfTableBothDirections)
{
    const std::string bias = ".block.3.layer.0.SelfAttention.relative_attention_bias.weight";
    expect_rows(*ckpt::t5::hf_cs_rules(), {
        // HF -> CS
        {"shared.weight", 0, "shared.weight", "None"},
        {"encoder.embed_tokens.weight", 0, "encoder_embeddings.word_embeddings.weight", "convert_embeddings"},
        {"decoder.block.3.layer.0.SelfAttention.relative_attention_bias.weight", 0,
         "decoder.block.3.layer.0.SelfAttention.relative_attention_bias.weight",
         "convert_relative_attention_bias_hf_to_cs21"},
        {"decoder.block.1.layer.1.EncDecAttention.relative_attention_bias.weight", 0,
         "decoder.block.1.layer.1.EncDecAttention.relative_attention_bias.weight", "None"},
        {"encoder_token_embedding.weight", 0, "encoder_embeddings.word_embeddings.weight", "replaceKey"},
        {"decoder.absolute_position_embedding", 0, "decoder_embeddings.position_embeddings", "replaceKey"},
        {"decoder.absolute_position_embedding.weight", 0, "decoder_embeddings.position_embeddings.weight", "replaceKey"},
        {"encoder.block.10.layer.0.SelfAttention.o.bias", 0, "encoder.layers.10.self_attn.proj_output_dense_layer.bias",
         "replaceKey"},
        {"decoder.block.2.layer.1.EncDecAttention.k.weight", 0,
         "decoder.layers.2.multihead_attn.proj_k_dense_layer.weight", "replaceKey"},
        {"encoder.block.1.layer.1.DenseReluDense.wi_0.weight", 0,
         "encoder.layers.1.ffn.ffn.0.linear_layer_for_glu.weight", "convert_dense_layer"},
        {"encoder.block.1.layer.1.DenseReluDense.wi_1.weight", 0, "encoder.layers.1.ffn.ffn.0.linear_layer.weight",
         "convert_dense_layer"},
        {"decoder.block.1.layer.2.DenseReluDense.wi.weight", 0, "decoder.layers.1.ffn.ffn.0.linear_layer.weight",
         "replaceKey"},
        {"decoder.block.1.layer.2.DenseReluDense.wi_1.weight", 0, "decoder.layers.1.ffn.ffn.0.linear_layer.weight",
         "convert_dense_layer"},
        {"decoder.final_layer_norm.weight", 0, "decoder.norm.weight", "replaceKey"},
        {"lm_head.weight", 0, "lm_head.weight", "replaceKey"},
        {"encoder.block.0.layer.0.SelfAttention.extra.weight", 0, "", ""},
        {"transformer.shared.weight", 0, "", ""},
        // CS -> HF, with and without the legacy `model.` prefix
        {"model.encoder.layers.4.self_attn.proj_q_dense_layer.weight", 1,
         "encoder.block.4.layer.0.SelfAttention.q.weight", "replaceKey"},
        {"decoder.layers.0.norm3.weight", 1, "decoder.block.0.layer.2.layer_norm.weight", "replaceKey"},
        {"encoder_embeddings.position_embed_helper.relative_attention_bias.weight", 1,
         "encoder_embeddings.position_embed_helper.relative_attention_bias.weight",
         "convert_relative_attention_bias_cs17_to_hf"},
        {"model.relative_position_decoder.relative_attention_bias.weight", 1,
         "relative_position_decoder.relative_attention_bias.weight", "convert_relative_attention_bias_cs17_to_hf"},
        {"decoder_embeddings.word_embeddings.weight", 1, "decoder.embed_tokens.weight", "convert_embeddings"},
        {"encoder.embed_tokens.weight", 1, "encoder.embed_tokens.weight", "None"},
        {"decoder.layers.1.ffn.ffn.0.linear_layer.weight", 1, "decoder.block.1.layer.1.DenseReluDense.wi.weight",
         "convert_dense_layer"},
        {"model.decoder.layers.1.ffn.ffn.1.linear_layer.weight", 1, "decoder.block.1.layer.1.DenseReluDense.wo.weight",
         "convert_dense_layer"},
        {"encoder_embeddings.position_embeddings.weight", 1, "encoder.absolute_position_embedding.weight", "replaceKey"},
        {"model.lm_head.weight", 1, "lm_head.weight", "replaceKey"},
        {"model.model.lm_head.weight", 1, "", ""},
        {"ln_f.weight", 1, "", ""},
    });
}

TEST(T5Rules, Cs16Table)
{
    expect_rows(*ckpt::t5::cs16_rules(false), {
        {"encoder_token_embedding.weight", 0, "encoder_embeddings.word_embeddings.weight", "replaceKey"},
        {"encoder.block.2.layer.0.SelfAttention.relative_attention_bias.weight", 0,
         "encoder.block.2.layer.0.SelfAttention.relative_attention_bias.weight",
         "convert_relative_attention_bias_cs16_to_cs17"},
        {"relative_position_encoder.relative_attention_bias.weight", 1,
         "relative_position_encoder.relative_attention_bias.weight", "convert_relative_attention_bias_cs17_to_cs16"},
        {"decoder_embeddings.word_embeddings.weight", 1, "decoder_token_embedding.weight", "replaceKey"},
        {"decoder.layers.0.norm2.weight", 1, "decoder.block.0.layer.1.layer_norm.weight", "replaceKey"},
        {"model.decoder.layers.0.norm2.weight", 1, "", ""},
        {"shared.weight", 0, "", ""},
    });
    expect_rows(*ckpt::t5::cs16_rules(true), {
        {"model.decoder.layers.0.norm2.weight", 1, "decoder.block.0.layer.1.layer_norm.weight", "replaceKey"},
    });
}

} // namespace
