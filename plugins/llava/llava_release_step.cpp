// SPDX-License-Identifier: Apache-2.0
// The cs-2.3 <-> cs-2.4+ steps of llava and mmsimple-llava (docs/mappings-llava.md §5): Release
// 2.4.0 keeps the vision tower's `num_classes` and `use_bias_in_output`, which the 2.3 ViTModel
// does not take, and moved mmsimple-llava's tower and projector configs under `image_model_list`,
// its projector written once instead of once per vision layer. The Model Zoo has no such steps
// (its generic one copies the config); ckptconv writes each release's own layout.
#include "llava.hpp"

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/release_gate.hpp>

#include <cctype>

namespace ckpt::llava {

namespace {

const char* const kProjector = "image_model.projection.ffn.";

/// `name` without the legacy `model.` prefix is `<kProjector><i><rest>`: sets `i` and `rest`.
bool split_projector(const std::string& name, int64_t& i, std::string& rest)
{
    const std::string plain = name.rfind("model.", 0) == 0 ? name.substr(6) : name;
    const size_t start = std::string(kProjector).size();
    if (plain.rfind(kProjector, 0) != 0)
        return false;
    size_t end = start;
    while (end < plain.size() && std::isdigit(static_cast<unsigned char>(plain[end])))
        ++end;
    if (end == start || end - start > 6)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + name + "' is not a projector Linear of mmsimple-llava");
    i = std::stoll(plain.substr(start, end - start));
    rest = plain.substr(end);
    if (rest != ".linear_layer.weight" && rest != ".linear_layer.bias")
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + name + "' is not a projector Linear of mmsimple-llava");
    return true;
}

/// The number of Linear layers of a FeedForwardNetwork projector config.
size_t projector_layers(sdk::ConstNode proj) { return proj["layers_units"].is_list() ? proj["layers_units"].size() : 0; }

class Cs23Cs24 : public sdk::Converter {
public:
    explicit Cs23Cs24(bool mmsimple)
        : Converter({"cs-2.3"}, sdk::cs_formats({2, 4}),
                    mmsimple ? "MultimodalSimpleModel: the Release 2.4.0 config layout (image_model_list.image_models, "
                               "image_model_list.global_image_projection) and one copy of the projector, from the 2.3 "
                               "layout with the projector once per vision layer, or back"
                             : "LLaVAModel: to cs-2.3 the vision tower's num_classes and use_bias_in_output are "
                               "removed, as Release 2.3.0 writes it"),
          m_mmsimple(mmsimple)
    {
    }

    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override
    {
        static const sdk::KeyGates gates{sdk::registry_name_gate()};
        if (!m_mmsimple) {
            for (size_t i = 0; i < src.size(); ++i)
                dst.entry(src.key_at(i)).assign(src.value_at(i));
            if (req.direction == 1 && dst["image_model"].is_map())
                for (const char* k : kNotCs23ImageKeys)
                    dst.find_mut("image_model").erase(k);
        } else {
            if (req.direction == 1) {
                const size_t layers = projector_layers(src["image_model_list"]["global_image_projection"]);
                if (layers > 1)
                    throw sdk::ConfigConversionError(
                        "model.image_model_list.global_image_projection has " + std::to_string(layers) +
                        " layers; mmsimple-llava's cs-2.3 projector is one Linear layer (the Release 2.3.0 "
                        "MultimodalSimpleModel copies it per vision layer): keep this checkpoint at cs-2.4 or later");
            }
            relayout_mmsimple_config(req, src, dst, req.direction == 0, req.direction == 1);
        }
        if (req.direction == 1) {
            sdk::apply_release_gates(gates, req.tgt_fmt, dst);
            // Release 2.3.0's config converters default it (BaseConfigConverter_CS_CS); 2.4.0 dropped it.
            if (!dst.has("mixed_precision"))
                dst.entry("mixed_precision").set(true);
        }
    }

    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode cs23, sdk::ConstNode, sdk::Plan& plan) override
    {
        if (!m_mmsimple) { // the same tensors in both releases
            for (const std::string& name : plan.input_names()) {
                plan.copy(name, plan.input(name));
                plan.note_match(name, name);
            }
            return;
        }
        // The 2.3 model holds the projector once per vision transformer layer.
        const sdk::ConstNode tower = cs23["image_model_list"]["image_model"].at(0);
        const int64_t vision_layers = sdk::config_int(tower, "num_hidden_layers", "cs-2.3 image_model");
        for (const std::string& name : plan.input_names()) {
            int64_t i = 0;
            std::string rest;
            if (!split_projector(name, i, rest)) {
                plan.copy(name, plan.input(name));
                plan.note_match(name, name);
                continue;
            }
            const std::string prefix = name.substr(0, name.find(kProjector)) + kProjector;
            if (req.direction == 0) { // cs-2.3 -> cs-2.4: the copies of layers 1.. are the same tensor
                if (i == 0)
                    plan.copy(name, plan.input(name));
                else
                    plan.drop(name);
                plan.note_match(name, i == 0 ? name : "");
                continue;
            }
            if (i != 0)
                throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + name + "': mmsimple-llava's cs-2.3 projector is one "
                                                     "Linear layer; this checkpoint's has more");
            const ckpt_value_id id = plan.input(name);
            for (int64_t layer = 0; layer < vision_layers; ++layer)
                plan.copy(prefix + std::to_string(layer) + rest, id);
            plan.note_match(name, name);
        }
    }

private:
    bool m_mmsimple;
};

} // namespace

std::shared_ptr<sdk::Converter> make_cs23_cs24(const Flavor& flavor) { return std::make_shared<Cs23Cs24>(flavor.mmsimple); }

} // namespace ckpt::llava
