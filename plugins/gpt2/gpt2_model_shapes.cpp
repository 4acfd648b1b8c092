// SPDX-License-Identifier: Apache-2.0
// The GPT-2 tensor shapes a Hugging Face config implies (GPT2Model / GPT2LMHeadModel; Conv1D
// weights are stored [in, out]), checked before a checkpoint is converted.
#include "gpt2.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::gpt2 {

void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    const int64_t d = s.size("n_embd", "hidden_size");
    const int64_t heads = s.size("n_head", "num_heads");
    const int64_t layers = s.count("n_layer", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t positions = s.size("n_positions", "max_position_embeddings");
    const int64_t inner = s.size("n_inner", "filter_size", d > 0 ? 4 * d : 0);
    s.require_multiple("n_embd", d, "n_head", heads);

    const std::string p = R"((?:transformer\.)?)";
    s.expect(p + R"(wte\.weight)", {vocab, d});
    s.expect(p + R"(wpe\.weight)", {positions, d});
    s.expect(p + R"(ln_f\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    const std::string h = p + R"(h\.{layer}\.)";
    s.expect_layers(h + R"(ln_[12]\.(?:weight|bias))", layers, {d});
    s.expect_layers(h + R"(attn\.c_attn\.weight)", layers, {d, 3 * d});
    s.expect_layers(h + R"(attn\.c_attn\.bias)", layers, {3 * d});
    s.expect_layers(h + R"(attn\.c_proj\.weight)", layers, {d, d});
    s.expect_layers(h + R"(attn\.c_proj\.bias)", layers, {d});
    s.expect_layers(h + R"(mlp\.c_fc\.weight)", layers, {d, inner});
    s.expect_layers(h + R"(mlp\.c_fc\.bias)", layers, {inner});
    s.expect_layers(h + R"(mlp\.c_proj\.weight)", layers, {inner, d});
    s.expect_layers(h + R"(mlp\.c_proj\.bias)", layers, {d});
    s.check(hf_tensors);
}

} // namespace ckpt::gpt2
