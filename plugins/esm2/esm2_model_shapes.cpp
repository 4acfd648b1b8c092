// SPDX-License-Identifier: Apache-2.0
// The EsmForMaskedLM tensor shapes a Hugging Face config implies (nn.Linear weights [out, in]),
// checked before a checkpoint is converted.
#include "esm2.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::esm2 {

void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t inter = s.size("intermediate_size", "filter_size");
    const int64_t positions = s.size("max_position_embeddings", "max_position_embeddings");
    s.require_multiple("hidden_size", d, "num_attention_heads", heads);

    const std::string p = R"((?:esm\.)?)";
    s.expect(p + R"(embeddings\.word_embeddings\.weight)", {vocab, d});
    s.expect(p + R"(embeddings\.position_embeddings\.weight)", {positions, d}, false);
    s.expect(p + R"(encoder\.emb_layer_norm_after\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.(?:dense\.bias|layer_norm\.(?:weight|bias)))", {d});
    s.expect(R"(lm_head\.dense\.weight)", {d, d});
    s.expect(R"(lm_head\.bias)", {vocab});
    s.expect(R"(lm_head\.decoder\.weight)", {vocab, d}, false);
    const std::string l = p + R"(encoder\.layer\.{layer}\.)";
    s.expect_layers(l + R"(attention\.self\.(?:query|key|value)\.weight)", layers, {d, d});
    s.expect_layers(l + R"(attention\.self\.(?:query|key|value)\.bias)", layers, {d});
    s.expect_layers(l + R"(attention\.output\.dense\.weight)", layers, {d, d});
    s.expect_layers(l + R"((?:attention\.output\.dense|output\.dense)\.bias)", layers, {d});
    s.expect_layers(l + R"((?:attention\.)?LayerNorm\.(?:weight|bias))", layers, {d});
    s.expect_layers(l + R"(intermediate\.dense\.weight)", layers, {inter, d});
    s.expect_layers(l + R"(intermediate\.dense\.bias)", layers, {inter});
    s.expect_layers(l + R"(output\.dense\.weight)", layers, {d, inter});
    s.check(hf_tensors);
}

} // namespace ckpt::esm2
