// SPDX-License-Identifier: Apache-2.0
// The T5 tensor shapes a Hugging Face config implies (T5ForConditionalGeneration; nn.Linear
// weights are stored [out, in]), checked before a checkpoint is converted.
#include "t5.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::t5 {

void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    const int64_t d = s.size("d_model", "d_model");
    const int64_t d_kv = s.size("d_kv", "d_kv");
    const int64_t d_ff = s.size("d_ff", "d_ff");
    const int64_t heads = s.size("num_heads", "num_heads");
    const int64_t vocab = s.size("vocab_size", "src_vocab_size");
    const int64_t buckets = s.size("relative_attention_num_buckets", "relative_attention_num_buckets", 32);
    const int64_t enc = s.count("num_layers", "encoder_num_hidden_layers");
    const int64_t dec = s.count("num_decoder_layers", "decoder_num_hidden_layers", enc > 0 ? enc : 0);
    const int64_t inner = heads * d_kv;

    s.expect(R"(shared\.weight)", {vocab, d}, false);
    s.expect(R"((?:encoder|decoder)\.embed_tokens\.weight)", {vocab, d}, false);
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    s.expect(R"((?:encoder|decoder)\.final_layer_norm\.weight)", {d});
    for (const auto& [stack, layers] : {std::pair<std::string, int64_t>{"encoder", enc}, {"decoder", dec}}) {
        const std::string b = stack + R"(\.block\.{layer}\.layer\.)";
        const std::string ffn = stack == "encoder" ? "1" : "2";
        s.expect_layers(b + R"(0\.SelfAttention\.[qkv]\.weight)", layers, {inner, d});
        s.expect_layers(b + R"(0\.SelfAttention\.o\.weight)", layers, {d, inner});
        s.expect_layers(b + R"(0\.SelfAttention\.relative_attention_bias\.weight)", layers, {buckets, heads}, false);
        s.expect_layers(b + R"([0-2]\.layer_norm\.weight)", layers, {d});
        s.expect_layers(b + ffn + R"(\.DenseReluDense\.wi(?:_[01])?\.weight)", layers, {d_ff, d});
        s.expect_layers(b + ffn + R"(\.DenseReluDense\.wo\.weight)", layers, {d, d_ff});
        if (stack == "decoder") {
            s.expect_layers(b + R"(1\.EncDecAttention\.[qkv]\.weight)", layers, {inner, d});
            s.expect_layers(b + R"(1\.EncDecAttention\.o\.weight)", layers, {d, inner});
        }
    }
    s.check(hf_tensors);
}

} // namespace ckpt::t5
