// SPDX-License-Identifier: Apache-2.0
// The CLIPVisionModelWithProjection tensor shapes a Hugging Face config implies (nn.Linear
// weights [out, in]; the patch embedding a Conv2d [hidden, channels, patch, patch]), checked
// before a checkpoint is converted.
#include "clip_vit.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::clip_vit {

void expect_vision_shapes(sdk::ModelShapes& s, bool projection)
{
    const int64_t d = s.size("hidden_size", "hidden_size");
    const int64_t heads = s.size("num_attention_heads", "num_heads");
    const int64_t layers = s.count("num_hidden_layers", "num_hidden_layers");
    const int64_t inter = s.size("intermediate_size", "filter_size");
    const int64_t channels = s.size("num_channels", "num_channels");
    const int64_t image = s.size("image_size", "image_size");
    const int64_t patch = s.size("patch_size", "patch_size");
    s.require_multiple("hidden_size", d, "num_attention_heads", heads);
    s.require_multiple("image_size", image, "patch_size", patch);
    const int64_t side = patch > 0 ? image / patch : 0;

    const std::string v = R"((?:vision_model\.)?)";
    s.expect(v + R"(embeddings\.class_embedding)", {d});
    s.expect(v + R"(embeddings\.patch_embedding\.weight)", {d, channels, patch, patch});
    s.expect(v + R"(embeddings\.position_embedding\.weight)", {side * side + 1, d});
    s.expect(v + R"((?:pre_layrnorm|post_layernorm)\.(?:weight|bias))", {d});
    if (projection)
        s.expect(R"(visual_projection\.weight)", {s.size("projection_dim", "num_classes"), d});
    const std::string l = v + R"(encoder\.layers\.{layer}\.)";
    s.expect_layers(l + R"(self_attn\.(?:q|k|v|out)_proj\.weight)", layers, {d, d});
    s.expect_layers(l + R"((?:self_attn\.(?:q|k|v|out)_proj|mlp\.fc2)\.bias)", layers, {d});
    s.expect_layers(l + R"(layer_norm[12]\.(?:weight|bias))", layers, {d});
    s.expect_layers(l + R"(mlp\.fc1\.weight)", layers, {inter, d});
    s.expect_layers(l + R"(mlp\.fc1\.bias)", layers, {inter});
    s.expect_layers(l + R"(mlp\.fc2\.weight)", layers, {d, inter});
}

void check_model_shapes(sdk::ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes s(hf_config, from);
    expect_vision_shapes(s, true);
    s.check(hf_tensors);
}

} // namespace ckpt::clip_vit
