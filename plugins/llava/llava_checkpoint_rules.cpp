// SPDX-License-Identifier: Apache-2.0
// The llava / mmsimple-llava tensor conversion (docs/mappings-llava.md §2): the vision tower
// through the clip_vit plugin's rows, the language model through the SDK's LLaMA rows, each with
// its own part of the configs, and the projector between the original LLaVA code's
// `model.mm_projector` and the CS projector.
#include "llava.hpp"

#include "clip_vit.hpp"

#include <ckptconv/cpp/llama_style.hpp>
#include <ckptconv/cpp/model_shapes.hpp>
#include <ckptconv/cpp/uniform_init.hpp>

#include <cctype>
#include <cmath>
#include <set>
#include <string>

namespace ckpt::llava {

namespace {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::ConstNode;
using sdk::eq;
using sdk::re;

constexpr int kHf = 0;
constexpr int kCs = 1;

const char* const kHfProjector = "text_model/model.mm_projector.";

/// The digits after `prefix` in `key` (the projector layer index), or -1.
int64_t index_after(const std::string& key, const std::string& prefix)
{
    const size_t at = key.find(prefix);
    if (at == std::string::npos)
        return -1;
    size_t end = at + prefix.size();
    while (end < key.size() && std::isdigit(static_cast<unsigned char>(key[end])))
        ++end;
    return end == at + prefix.size() ? -1 : std::stoll(key.substr(at + prefix.size(), end - at - prefix.size()));
}

/// convert_projector (llava; mmsimple-llava from Release 2.4.0): the HF projector is an
/// nn.Sequential of Linear, GELU, Linear, ..., so its Linear layers are numbered 0, 2, 4, ...; the
/// CS FeedForwardNetwork under `cs` numbers them 0, 1, 2.
CheckpointAction convert_projector(const std::string& cs)
{
    return {"convert_projector", [cs](CheckpointContext& c, const std::string& o, const std::string& n) {
                const std::string hf = "mm_projector.";
                const int64_t i = index_after(o, c.from == kHf ? hf : cs);
                if (c.from == kHf && i % 2 != 0)
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "': the LLaVA projector has Linear layers at "
                                                         "even positions only (Linear, GELU, Linear, ...)");
                const std::string& to = c.from == kHf ? cs : hf;
                const int64_t j = c.from == kHf ? i / 2 : i * 2;
                const size_t at = n.find(to) + to.size();
                size_t end = at;
                while (end < n.size() && std::isdigit(static_cast<unsigned char>(n[end])))
                    ++end;
                c.plan.copy(n.substr(0, at) + std::to_string(j) + n.substr(end), sdk::load_scaled(c, o));
            }};
}

/// The vision tower's rows (Converter_LLaVA_CLIPViT_HF_CS22 / ..._MMSimple_..._CLIPViT_HF_CS23):
/// CLIPVisionModel's `vision_model.` below the CS tower prefix; a whole CLIPModel's text half and
/// projections have no place in the CS model and are dropped.
std::shared_ptr<const CheckpointRules> image_rules(const Flavor& flavor)
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({eq("image_model/vision_model.", flavor.cs_tower_prefix())}, clip_vit::vision_rules());
    for (const char* unused : {R"(image_model/text_model\..*)", R"(image_model/logit_scale)",
                               R"(image_model/(?:visual|text)_projection\.(?:weight|bias))"})
        r->add({re(unused)}, sdk::drop_tensor());
    return sdk::with_model_prefix(r);
}

/// The language model's rows (Converter_LLaVA_LLaMA_HF_CS22 / ..._MMSimple_..._LLaMA_HF_CS23):
/// LlamaForCausalLM below `text_model.`, the llava projector, and a vision tower saved with the
/// language model dropped (the tower comes from image_model/).
std::shared_ptr<const CheckpointRules> text_rules(const Flavor& flavor)
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({eq("text_model/lm_head", "text_model.lm_head"), re(R"(\.(?:weight|bias))")},
           {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, sdk::load_scaled(c, o));
            }});
    if (!flavor.mmsimple23()) {
        r->add({eq("text_model/model.mm_projector.", flavor.cs_projector_prefix()), re(R"(\d+)"),
                eq(".", ".linear_layer."), re("(?:weight|bias)")},
               convert_projector(flavor.cs_projector_prefix()));
        if (flavor.mmsimple) // cs-2.4+: the one-Linear projector the 2.3 converter read (docs/decisions.md)
            r->add({eq("text_model/model.mm_projector.", flavor.cs_projector_prefix() + "0.linear_layer."),
                    re("(?:weight|bias)")},
                   {"convert_projector", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                        c.plan.copy(n, sdk::load_scaled(c, o));
                    }});
    }
    r->add({re(R"(text_model/model\.vision_tower\..*)")}, sdk::drop_tensor());
    r->add({eq("text_model/model.", "text_model.")}, std::shared_ptr<const CheckpointRules>(sdk::llama_model_rules()));
    return sdk::with_model_prefix(r);
}

/// The number of vision transformer layers in the CS checkpoint being written (HF -> CS): the
/// distinct `layers.<i>` below the tower.
int64_t vision_layer_count(const std::vector<std::string>& inputs)
{
    const std::string prefix = std::string(kImagePart) + "/vision_model.encoder.layers.";
    std::set<int64_t> layers;
    for (const auto& name : inputs)
        if (name.rfind(prefix, 0) == 0)
            layers.insert(index_after(name, prefix));
    return static_cast<int64_t>(layers.size());
}

/// mmsimple-llava's projector (Converter_MMSimple_LLaVA_LLaMA_HF_CS23.convert_projector): one HF
/// Linear `model.mm_projector.{weight,bias}` is written as `image_model.projection.ffn.<i>` once per
/// vision layer, as the Model Zoo does; CS -> HF reads the copy of layer 0 back.
void plan_mmsimple_projector(CheckpointContext& c)
{
    const std::vector<std::string> inputs = c.plan.input_names();
    const std::string cs_prefix = "image_model.projection.ffn.";
    for (const auto& name : inputs) {
        if (c.from == kHf) {
            if (name.rfind(kHfProjector, 0) != 0)
                continue;
            const std::string rest = name.substr(std::string(kHfProjector).size());
            if (rest != "weight" && rest != "bias")
                continue; // refused by check_projector_inputs
            const ckpt_value_id id = sdk::load_scaled(c, name);
            const int64_t layers = vision_layer_count(inputs);
            if (layers == 0)
                throw sdk::Error(CKPT_ERR_BAD_INPUT, "the image_model checkpoint has no vision_model.encoder.layers: "
                                                     "the projector is written once per vision layer");
            for (int64_t i = 0; i < layers; ++i) {
                const std::string out = cs_prefix + std::to_string(i) + ".linear_layer." + rest;
                c.plan.copy(out, id);
                c.plan.note_match(name, out);
            }
            continue;
        }
        std::string plain = name.rfind("model.", 0) == 0 ? name.substr(6) : name;
        if (plain.rfind(cs_prefix, 0) != 0)
            continue;
        const int64_t i = index_after(plain, cs_prefix);
        const std::string rest = i < 0 ? "" : plain.substr(cs_prefix.size() + std::to_string(i).size());
        if (rest != ".linear_layer.weight" && rest != ".linear_layer.bias")
            throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + name + "' is not a projector Linear of mmsimple-llava");
        if (i == 0) {
            const std::string out = std::string(kHfProjector) + rest.substr(std::string(".linear_layer.").size());
            c.plan.copy(out, sdk::load_scaled(c, name));
            c.plan.note_match(name, out);
        } else {
            // The Model Zoo wrote the same projector once per vision layer; HF has one.
            c.plan.drop(name);
            c.plan.note_match(name, "");
        }
    }
}

/// The HF projector tensors, before anything else is checked: whether there are any, and
/// mmsimple-llava's is one Linear layer (the Model Zoo writes a multi-layer one's layers under
/// one key). mmsimple-llava without a projector is refused: the Model Zoo 2.3 writes none, which
/// its model cannot load.
bool check_projector_inputs(const Flavor& flavor, const std::vector<std::string>& inputs)
{
    bool projector = false;
    for (const auto& name : inputs) {
        if (name.rfind(kHfProjector, 0) != 0)
            continue;
        projector = true;
        const std::string rest = name.substr(std::string(kHfProjector).size());
        if (flavor.mmsimple23() && rest != "weight" && rest != "bias")
            throw sdk::Error(CKPT_ERR_BAD_INPUT,
                             "tensor '" + name + "': mmsimple-llava's cs-2.3 projector is one Linear layer "
                             "(model.mm_projector.weight and .bias); a multi-layer LLaVA projector (mlp2x_gelu) "
                             "cannot be converted to it (the Model Zoo writes its layers under one key): convert "
                             "to cs-2.4 or later, or use --model llava");
    }
    if (!projector && flavor.mmsimple23())
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "the text_model checkpoint has no projector (model.mm_projector.weight); "
                                             "mmsimple-llava cannot start without one");
    return projector;
}

/// Converter_LLaVA_HF_CS22.post_checkpoint_convert (and Converter_MMSimple_LLaVA_HF_CS24's): an
/// HF text model without projector (a plain LLaMA, for a first phase that trains the projector
/// alone) gets the CS projector its config describes, each layer drawn uniformly from
/// +-sqrt(1 / inputs) — a fixed-seed stand-in for torch's draw, the same bytes on every run.
void add_initial_projector(const Flavor& flavor, const sdk::Request& req, ConstNode cs_config, sdk::Plan& plan)
{
    const ConstNode proj = flavor.cs24 ? cs_config["image_model_list"]["global_image_projection"]
                                       : cs_config["projector"]["image_model"];
    int64_t inputs = sdk::config_int(proj, "input_unit", "CS projector.image_model");
    const ConstNode units = proj["layers_units"];
    if (!units.is_list() || units.size() == 0)
        throw sdk::ConfigConversionError("CS projector.image_model.layers_units should be a non-empty list");
    const bool bias = sdk::config_flag_or(proj, "use_bias", true, "CS projector.image_model");
    req.log(CKPT_LOG_INFO, "---- HF checkpoint does not have projector weight, initializing defaults");
    req.log(CKPT_LOG_WARNING, flavor.cs_projector_prefix() + "*: initialised from a fixed-seed uniform generator, "
                              "not torch's random draw (the HF text_model has no model.mm_projector)");
    for (size_t i = 0; i < units.size(); ++i) {
        const int64_t out = units.at(i).kind() == CKPT_NODE_INT ? units.at(i).as_int() : 0;
        if (out <= 0 || inputs <= 0 || out > sdk::ModelShapes::kMaxSize || inputs > sdk::ModelShapes::kMaxSize)
            throw sdk::ConfigConversionError("CS projector.image_model: layer " + std::to_string(i) +
                                             " has no valid size (input_unit and layers_units must be positive)");
        const double bound = std::sqrt(1.0 / static_cast<double>(inputs));
        const std::string at = flavor.cs_projector_prefix() + std::to_string(i) + ".linear_layer.";
        sdk::add_random_uniform(plan, at + "weight", {out, inputs}, bound);
        if (bias)
            sdk::add_random_uniform(plan, at + "bias", {out}, bound);
        inputs = out;
    }
}

/// The model section of one part in either config.
ConstNode part_config(ConstNode config, const std::string& key, const std::string& what)
{
    ConstNode s = config[key];
    if (!s.is_map())
        throw sdk::ConfigConversionError(what);
    return s;
}

} // namespace

void plan_checkpoint(const Flavor& flavor, const sdk::Request& req, ConstNode hf_config, ConstNode cs_config,
                     sdk::Plan& plan)
{
    const int from = req.direction == 0 ? kHf : kCs;
    ConstNode cs_image = flavor.cs24        ? cs_config["image_model_list"]["image_models"].at(0)["image_encoder"]
                         : flavor.mmsimple ? cs_config["image_model_list"]["image_model"].at(0)
                                           : cs_config["image_model"];
    if (!cs_image.is_map())
        cs_image = part_config(cs_config, "image_model", "the CS config has no model.image_model section");
    const ConstNode cs_text = part_config(cs_config, "text_model", "the CS config has no model.text_model section");
    const ConstNode hf_image = part_config(hf_config, kImageConfig, std::string("no ") + kImageConfig);
    const ConstNode hf_text = part_config(hf_config, kTextConfig, std::string("no ") + kTextConfig);

    bool projector = true;
    if (from == kHf) {
        projector = check_projector_inputs(flavor, plan.input_names());
        check_model_shapes(flavor, hf_image, hf_text, kHf, sdk::ModelShapes::inputs_of(plan));
    }
    // llava, mmsimple-llava (cs-2.3), mmsimple-llava (cs-2.4+)
    static const std::shared_ptr<const CheckpointRules> rules[3][2] = {
        {image_rules(Flavor{false}), text_rules(Flavor{false})},
        {image_rules(Flavor{true}), text_rules(Flavor{true})},
        {image_rules(Flavor{true, true}), text_rules(Flavor{true, true})}};
    const int kind = flavor.cs24 ? 2 : flavor.mmsimple ? 1 : 0;
    CheckpointContext image{req, plan, {hf_image, cs_image}, from};
    sdk::apply_rules(*rules[kind][0], image);
    CheckpointContext text{req, plan, {hf_text, cs_text}, from};
    sdk::apply_rules(*rules[kind][1], text);
    if (flavor.mmsimple23())
        plan_mmsimple_projector(text);
    if (!projector)
        add_initial_projector(flavor, req, cs_config, plan);
    if (from == kCs)
        check_model_shapes(flavor, hf_image, hf_text, kCs, plan.outputs());
}

} // namespace ckpt::llava
