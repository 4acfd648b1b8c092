// SPDX-License-Identifier: Apache-2.0
// The BERT / RoBERTa tensor shapes a Hugging Face config implies (the encoder and embeddings of
// every BERT head class; nn.Linear weights are stored [out, in]), checked before converting.
#include "bert.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::bert {

void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t positions = s.size("max_position_embeddings", "max_position_embeddings");
    const int64_t inter = s.size("intermediate_size", "filter_size");
    const int64_t types = s.size("type_vocab_size", "type_vocab_size", 2);
    s.require_multiple("hidden_size", d, "num_attention_heads", heads);

    const std::string e = R"((?:bert\.|roberta\.)?embeddings\.)";
    // A checkpoint saved with tied weights may keep only the MLM decoder's copy.
    s.expect(e + R"(word_embeddings\.weight)", {vocab, d}, false);
    s.expect(R"((?:cls\.predictions|lm_head)\.decoder\.weight)", {vocab, d}, false);
    s.expect(e + R"(position_embeddings\.weight)", {positions, d});
    s.expect(e + R"(token_type_embeddings\.weight)", {types, d}, false);
    s.expect(e + R"(LayerNorm\.(?:weight|bias))", {d});
    const std::string l = R"((?:bert\.|roberta\.)?encoder\.layer\.{layer}\.)";
    s.expect_layers(l + R"(attention\.self\.(?:query|key|value)\.weight)", layers, {d, d});
    s.expect_layers(l + R"(attention\.self\.(?:query|key|value)\.bias)", layers, {d});
    s.expect_layers(l + R"(attention\.output\.dense\.weight)", layers, {d, d});
    s.expect_layers(l + R"(attention\.output\.(?:dense|LayerNorm)\.(?:weight|bias))", layers, {d});
    s.expect_layers(l + R"(intermediate\.dense\.weight)", layers, {inter, d});
    s.expect_layers(l + R"(intermediate\.dense\.bias)", layers, {inter});
    s.expect_layers(l + R"(output\.dense\.weight)", layers, {d, inter});
    s.expect_layers(l + R"(output\.(?:dense|LayerNorm)\.(?:weight|bias))", layers, {d});
    s.check(hf_tensors);
}

} // namespace ckpt::bert
