// SPDX-License-Identifier: Apache-2.0
// The GPT-2 checkpoint rule table key by key (compiled from the plugin source): rows reachable
// in each direction, the legacy `model.` prefix, pre-2.1 names, dropped buffers, action names.
#include <gtest/gtest.h>

#include "gpt2.hpp"

namespace {

using ckpt::gpt2::hf_cs21_rules;

struct Row {
    const char* key;
    int from; // 0: HF key, 1: CS key
    const char* want; // converted key, or "" when no rule matches
    const char* action;
};

void expect_rows(bool lm_head, const std::vector<Row>& rows)
{
    auto rules = hf_cs21_rules(lm_head);
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

TEST(Gpt2Rules, LmHeadTableBothDirections)
{
    expect_rows(true, {
        {"lm_head.weight", 0, "lm_head.weight", "replaceKey"},
        {"transformer.wpe.weight", 0, "embedding_layer.position_embeddings.embed.weight", "replaceKey"},
        {"transformer.wte.weight", 0, "embedding_layer.word_embeddings.weight", "replaceKey"},
        {"transformer.h.11.attn.c_proj.bias", 0, "transformer_decoder.layers.11.self_attn.proj_output_dense_layer.bias",
         "transpose_key_if_2D"},
        {"transformer.h.3.attn.c_attn.weight", 0, "transformer_decoder.layers.3.self_attn.proj_q_dense_layer.weight",
         "c_attn_converter"},
        {"transformer.h.3.attn.q_attn.weight", 0, "transformer_decoder.layers.3.self_attn.proj_q_dense_layer.weight",
         "assert_already_converted"},
        {"transformer.h.0.ln_2.bias", 0, "transformer_decoder.layers.0.norm3.bias", "replaceKey"},
        {"transformer.h.0.mlp.c_fc.weight", 0, "transformer_decoder.layers.0.ffn.ffn.0.linear_layer.weight",
         "transpose_key_if_2D"},
        {"transformer.h.0.mlp.c_proj.weight", 0, "transformer_decoder.layers.0.ffn.ffn.1.linear_layer.weight",
         "transpose_key_if_2D"},
        {"transformer.ln_f.weight", 0, "transformer_decoder.norm.weight", "replace_final_norm"},
        {"transformer.lm_head.weight", 0, "lm_head.weight", "None"},
        {"transformer.h.5.attn.masked_bias", 0, "h.5.attn.masked_bias", "None"},
        {"transformer.h.5.attn.bias", 0, "h.5.attn.bias", "None"},
        {"transformer.h.5.mlp.unknown.weight", 0, "", ""},
        {"transformer.wte.weight.extra", 0, "", ""},
        // CS -> HF, including the rows only reachable this way.
        {"embedding_layer.position_embeddings.weight", 1, "transformer.wpe.weight", "replaceKey"},
        {"embedding_layer.position_embeddings.embed.weight", 1, "transformer.wpe.weight", "replaceKey"},
        {"transformer_decoder.layers.2.self_attn.proj_k_dense_layer.bias", 1, "transformer.h.2.attn.c_attn.bias",
         "assert_already_converted"},
        {"transformer_decoder.layers.2.self_attn.proj_v_dense_layer.weight", 1, "transformer.h.2.attn.c_attn.weight",
         "assert_already_converted"},
        {"transformer_decoder.layers.2.self_attn.proj_q_dense_layer.weight", 1, "transformer.h.2.attn.c_attn.weight",
         "c_attn_converter"},
        {"transformer_decoder.norm.bias", 1, "transformer.ln_f.bias", "replace_final_norm"},
        {"ln_f.bias", 1, "transformer.ln_f.bias", "None"},
        {"lm_head.weight", 1, "lm_head.weight", "replaceKey"},
        // Legacy PyTorchBaseModel keys.
        {"model.transformer_decoder.layers.0.norm1.weight", 1, "transformer.h.0.ln_1.weight", "replaceKey"},
        {"model.lm_head.weight", 1, "lm_head.weight", "replaceKey"},
        {"model.model.lm_head.weight", 1, "", ""},
    });
}

TEST(Gpt2Rules, HeadlessTableHasNoTransformerPrefixAndDropsTheHead)
{
    expect_rows(false, {
        {"wte.weight", 0, "embedding_layer.word_embeddings.weight", "replaceKey"},
        {"h.0.attn.c_attn.bias", 0, "transformer_decoder.layers.0.self_attn.proj_q_dense_layer.bias", "c_attn_converter"},
        {"ln_f.bias", 0, "transformer_decoder.norm.bias", "replace_final_norm"},
        {"transformer.wte.weight", 0, "", ""},
        {"lm_head.weight", 1, "lm_head.weight", "None"},
        {"model.lm_head.bias", 1, "lm_head.bias", "None"},
        {"transformer_decoder.layers.1.norm3.weight", 1, "h.1.ln_2.weight", "replaceKey"},
    });
}

} // namespace
