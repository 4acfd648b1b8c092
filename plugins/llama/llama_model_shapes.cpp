// SPDX-License-Identifier: Apache-2.0
// The llama / mistral tensor shapes a Hugging Face config implies (LlamaModel, LlamaForCausalLM,
// and the Mistral equivalents; nn.Linear weights are stored [out, in]).
#include "llama_model_shapes.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

#include <string>

namespace ckpt::llama {

LlamaSizes expect_llama_shapes(sdk::ModelShapes& s, sdk::ConstNode hf_config, bool dense_mlp)
{
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t kv = s.size("num_key_value_heads", "extra_attention_params.num_kv_groups", heads);
    const int64_t head_dim = s.size("head_dim", "head_dim", heads > 0 && d % heads == 0 ? d / heads : 0);
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    if (!hf_config["head_dim"].present())
        s.require_multiple("hidden_size", d, "num_attention_heads", heads);
    s.require_multiple("num_attention_heads", heads, "num_key_value_heads", kv);

    const std::string p = R"((?:model\.)?)";
    s.expect(p + R"(embed_tokens\.weight)", {vocab, d});
    s.expect(p + R"(norm\.weight)", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    const std::string l = p + R"(layers\.{layer}\.)";
    s.expect_layers(l + R"(self_attn\.q_proj\.weight)", layers, {heads * head_dim, d});
    s.expect_layers(l + R"(self_attn\.[kv]_proj\.weight)", layers, {kv * head_dim, d});
    s.expect_layers(l + R"(self_attn\.o_proj\.weight)", layers, {d, heads * head_dim});
    s.expect_layers(l + R"(self_attn\.q_proj\.bias)", layers, {heads * head_dim}, false);
    s.expect_layers(l + R"(self_attn\.[kv]_proj\.bias)", layers, {kv * head_dim}, false);
    s.expect_layers(l + R"(self_attn\.o_proj\.bias)", layers, {d}, false);
    if (dense_mlp) {
        const int64_t inter = s.size("intermediate_size", "filter_size");
        s.expect_layers(l + R"(mlp\.(?:gate|up)_proj\.weight)", layers, {inter, d});
        s.expect_layers(l + R"(mlp\.down_proj\.weight)", layers, {d, inter});
    }
    s.expect_layers(l + R"((?:input|post_attention)_layernorm\.weight)", layers, {d});
    return {d, layers};
}

void check_model_shapes(sdk::ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    expect_llama_shapes(s, hf_config, true);
    s.check(hf_tensors);
}

} // namespace ckpt::llama
