// SPDX-License-Identifier: Apache-2.0
// The tensor shapes the two Hugging Face configs of a llava folder imply: the vision tower's
// (the clip_vit plugin's table), the language model's (the SDK's LLaMA table) and the projector's,
// each checked on its own part, before a checkpoint is converted.
#include "llava.hpp"

#include "clip_vit.hpp"

#include <ckptconv/cpp/llama_style.hpp>
#include <ckptconv/cpp/model_shapes.hpp>

#include <regex>

namespace ckpt::llava {

namespace {

/// The tensors of `part` among `all`, named without their `<part>/` prefix.
std::vector<sdk::TensorDesc> part_tensors(const std::vector<sdk::TensorDesc>& all, const std::string& part)
{
    std::vector<sdk::TensorDesc> out;
    const std::string prefix = part + "/";
    for (const auto& t : all)
        if (t.name.rfind(prefix, 0) == 0) {
            out.push_back(t);
            out.back().name = t.name.substr(prefix.size());
        }
    return out;
}

/// The Linear layers `mlp<N>x_gelu` names (0 for another type: the config step has refused it).
int64_t projector_linears(sdk::ConstNode text)
{
    static const std::regex pattern(R"(mlp(\d{1,3})x_gelu)");
    std::smatch m;
    const std::string type = sdk::config_string_or(text, "mm_projector_type", "mlp2x_gelu", "text_model");
    return std::regex_search(type, m, pattern) ? std::stoll(m[1].str()) : 0;
}

/// Runs `s.check` on the tensors of `part`, naming the part in what it refuses.
void check_part(sdk::ModelShapes& s, const std::vector<sdk::TensorDesc>& all, const std::string& part)
{
    try {
        s.check(part_tensors(all, part));
    } catch (const sdk::Error& e) {
        throw sdk::Error(CKPT_ERR_BAD_INPUT, part + "/: " + e.what());
    }
}

} // namespace

void check_model_shapes(const Flavor& flavor, sdk::ConstNode hf_image, sdk::ConstNode hf_text, int from,
                        const std::vector<sdk::TensorDesc>& hf_tensors)
{
    sdk::ModelShapes image(hf_image["vision_config"].is_map() ? hf_image["vision_config"] : hf_image, from);
    clip_vit::expect_vision_shapes(image, false);
    check_part(image, hf_tensors, kImagePart);

    sdk::ModelShapes text(hf_text, from);
    const sdk::LlamaSizes sizes = sdk::expect_llama_shapes(text, hf_text, true);
    const int64_t vision = text.size("mm_hidden_size", "image_model.hidden_size");
    if (flavor.mmsimple23()) {
        text.expect(R"(model\.mm_projector\.weight)", {sizes.hidden_size, vision});
        text.expect(R"(model\.mm_projector\.bias)", {sizes.hidden_size}, false);
    } else {
        if (flavor.mmsimple) { // cs-2.4+ also takes the 2.3 converter's one Linear (llava_checkpoint_rules.cpp)
            text.expect(R"(model\.mm_projector\.weight)", {sizes.hidden_size, vision}, false);
            text.expect(R"(model\.mm_projector\.bias)", {sizes.hidden_size}, false);
        }
        // nn.Sequential(Linear, GELU, Linear, ...): the Linear layers are 0, 2, 4, ...
        const int64_t linears = projector_linears(hf_text);
        for (int64_t i = 0; i < linears; ++i) {
            const std::string at = R"(model\.mm_projector\.)" + std::to_string(2 * i) + R"(\.)";
            // Optional: a text model without projector gets one (llava_checkpoint_rules.cpp).
            text.expect(at + "weight", {sizes.hidden_size, i == 0 ? vision : sizes.hidden_size}, false);
            text.expect(at + "bias", {sizes.hidden_size}, false);
        }
    }
    check_part(text, hf_tensors, kTextPart);
}

} // namespace ckpt::llava
