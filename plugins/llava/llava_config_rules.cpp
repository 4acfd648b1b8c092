// SPDX-License-Identifier: Apache-2.0
// The llava / mmsimple-llava config conversion (docs/mappings-llava.md §3): the vision tower's
// config through the clip_vit table, the language model's through the SDK's LLaMA table plus the LLaVA
// rows (ConfigConverter_LLaMaProjector_HF_CS22), then the Model Zoo's moves between the CS
// `model:` section and the text config (ConfigConverter_LLaVA_HF_CS22, ..._MMSimple_LLaVA_HF_CS23).
#include "llava.hpp"

#include "clip_vit.hpp"

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/llama_style.hpp>
#include <ckptconv/cpp/value.hpp>

#include <regex>
#include <set>

namespace ckpt::llava {

namespace {

using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::ConstNode;
using sdk::eq;
using sdk::Node;
using sdk::Value;

constexpr int kHf = 0;
constexpr int kCs = 1;

/// Sets `key` in a defaults table, replacing an inherited entry (the Model Zoo's dict.update).
void put(sdk::TableConfigConverter::Defaults& defaults, const std::string& key, Value v)
{
    for (auto& [k, old] : defaults)
        if (k == key) {
            old = std::move(v);
            return;
        }
    defaults.emplace_back(key, std::move(v));
}

/// "mlp<N>x_gelu" -> N; ConfigConversionError for any other projector type.
int64_t projector_layers(const std::string& type)
{
    static const std::regex pattern(R"(mlp(\d+)x_gelu)");
    std::smatch m;
    if (!std::regex_search(type, m, pattern))
        throw ConfigConversionError("Convertor only valid when `mm_projector_type` is of pattern `mlp(\\d+)x_gelu`, got " +
                                    type);
    return std::stoll(m[1].str());
}

/// mm_projector_type <-> projector: HF -> CS keeps the type for the whole-config step below;
/// CS -> HF reads the FeedForwardNetwork back into "mlp<N>x_gelu".
sdk::ConfigAction convert_mm_projector_type()
{
    return sdk::config_action("convert_mm_projector_type", [](ConfigContext& c, const std::string& o,
                                                              const std::string& n) {
        if (c.from == kHf) {
            const std::string type = sdk::config_string_or(c.src, o, "");
            projector_layers(type);
            Node p = c.dst.entry(n);
            p.make_map();
            p.entry("image_model").make_map();
            p.entry("hf_type").set(type);
            return;
        }
        ConstNode image = c.src[o]["image_model"];
        if (!image.is_map() || image.size() == 0)
            throw ConfigConversionError("CS model should have non-empty `projector.image_model`");
        const std::string name = sdk::config_string_or(image, "name", "");
        if (name != "FeedForwardNetwork")
            throw ConfigConversionError("CS model projector.image_model.name should be of type `FeedForwardNetwork "
                                        "inorder to convert to HF, got " + name);
        ConstNode act = image["layers_activation"];
        bool expected = act.is_list() && act.size() > 0;
        for (size_t i = 0; expected && i < act.size(); ++i)
            expected = i + 1 == act.size() ? act.at(i).is_null()
                                           : act.at(i).kind() == CKPT_NODE_STRING && act.at(i).as_string() == "gelu";
        if (!expected)
            throw ConfigConversionError("Cannot support layers_activation " + Value::read(act).str() +
                                        ", expected [gelu, ..., None] (the LLaVA mlp<N>x_gelu projector)");
        c.dst.entry(n).set("mlp" + std::to_string(act.size()) + "x_gelu");
    });
}

/// HF counts the embeddings as hidden state 0, CS does not: a non-negative layer index shifts by one.
sdk::ConfigAction convert_mm_vision_select_layer()
{
    return sdk::config_action("convert_mm_vision_select_feature", [](ConfigContext& c, const std::string& o,
                                                                     const std::string& n) {
        const int64_t v = Value::read(c.src[o]).kind() == Value::Kind::integer ? c.src[o].as_int() : 0;
        if (Value::read(c.src[o]).kind() != Value::Kind::integer)
            throw ConfigConversionError(o + " must be an integer, got " + Value::read(c.src[o]).str());
        if (v < 0)
            c.dst.entry(n).set(v);
        else if (c.from == kHf && v == 0)
            throw ConfigConversionError(o + " = 0 selects the embeddings, which the CS model cannot take");
        else
            c.dst.entry(n).set(c.from == kHf ? v - 1 : v + 1);
    });
}

/// tune_mm_mlp_adapter (train the projector alone) <-> the CS list of frozen module patterns.
sdk::ConfigAction convert_tune_mm_mlp_adapter()
{
    return sdk::config_action("convert_tune_mm_mlp_adapter", [](ConfigContext& c, const std::string& o,
                                                               const std::string& n) {
        if (c.from == kHf) {
            Node list = c.dst.entry(n);
            list.make_list();
            list.append().set("^image_model");
            if (sdk::config_flag_or(c.src, o, false, "text_model"))
                list.append().set("^text_model");
            return;
        }
        // The Model Zoo tests `"text_model" in freeze`, which the "^text_model" it writes never
        // equals (docs/decisions.md): a pattern naming the text model is what it means.
        bool text_frozen = false;
        ConstNode freeze = c.src[o];
        for (size_t i = 0; freeze.is_list() && i < freeze.size(); ++i)
            text_frozen |= freeze.at(i).kind() == CKPT_NODE_STRING &&
                           freeze.at(i).as_string().find("text_model") != std::string::npos;
        c.dst.entry(n).set(text_frozen);
    });
}

/// ConfigConverter_LLaMaProjector_HF_CS22: the llama table with the LLaVA keys.
class LlavaTextConfig : public sdk::LlamaStyleConfig {
public:
    LlavaTextConfig() : LlamaStyleConfig("llama", "LlamaForCausalLM", "llama", false)
    {
        using sdk::assert_value;
        using sdk::rename_key;
        rules.add({eq("mm_projector_type", "projector")}, convert_mm_projector_type())
            .add({eq("mm_hidden_size", "mm_hidden_size")}, rename_key())
            .add({eq("mm_vision_select_feature", "image_feature_select_mode")}, rename_key())
            .add({eq("mm_vision_select_layer", "image_feature_select_layer_idx")}, convert_mm_vision_select_layer())
            .add({eq("mm_use_im_start_end", "mm_use_im_start_end")}, assert_value(kHf, {false}))
            .add({eq("mm_use_im_patch_token", "mm_use_im_patch_token")}, assert_value(kHf, {false}))
            .add({eq("tune_mm_mlp_adapter", "freeze")}, convert_tune_mm_mlp_adapter());
        for (auto& [k, v] : std::vector<std::pair<std::string, Value>>{
                 {"mm_vision_select_feature", "patch"}, {"mm_use_im_patch_token", false},
                 {"mm_use_im_start_end", false},        {"tie_word_embeddings", false},
                 {"rope_scaling", nullptr},             {"unfreeze_mm_vision_tower", false},
                 {"tune_mm_vision_resampler", false},   {"tune_mm_mlp_adapter", false},
                 {"mm_vision_select_layer", -2},        {"mm_projector_type", "mlp2x_gelu"},
                 {"mm_hidden_size", 64}})
            put(pre_defaults[kHf], k, v);
        put(pre_defaults[kCs], "share_embedding_weights", false);
        put(pre_defaults[kCs], "use_bias_in_output", false);
        for (auto& [k, v] : std::vector<std::pair<std::string, Value>>{
                 {"mm_use_im_patch_token", false},
                 {"mm_use_im_start_end", false},
                 {"bos_token_id", 1},
                 {"eos_token_id", 2},
                 {"image_aspect_ratio", "pad"},
                 {"freeze_mm_mlp_adapter", false},
                 {"freeze_mm_vision_resampler", false},
                 {"model_type", "llava"},
                 {"architectures", Value::list({Value("LlavaLlamaForCausalLM")})},
                 {"pad_token_id", 0},
                 {"tune_mm_mlp_adapter", false},
                 {"tune_mm_vision_resampler", false},
                 {"unfreeze_mm_vision_tower", false},
                 {"use_cache", true}})
            put(post_defaults[kHf], k, v);
    }

protected:
    void pre_convert(ConfigContext& c, Node work) const override
    {
        if (c.from == kHf) // the llama table asserts its own model_type
            work.entry("model_type").set("llama");
        LlamaStyleConfig::pre_convert(c, work);
    }
};

const LlavaTextConfig& text_config()
{
    static const LlavaTextConfig converter;
    return converter;
}

/// Moves `key` from map `from` to map `to` (of different trees: config handles are pointers into
/// their tree, so a map must not change while a handle to one of its entries is in use).
void move_key(Node from, Node to, const std::string& key, const char* where)
{
    if (!from.has(key))
        throw ConfigConversionError(std::string("the ") + where + " config has no `" + key + "`");
    to.entry(key).assign(from[key]);
    from.erase(key);
}

/// A map section of `config`, or ConfigConversionError naming what is missing.
ConstNode section(ConstNode config, const std::string& key, const std::string& what)
{
    ConstNode s = config[key];
    if (!s.is_map())
        throw ConfigConversionError(what);
    return s;
}

/// The CS projector (a FeedForwardNetwork) of an HF "mlp<N>x_gelu" projector.
void write_projector(Node proj, int64_t input_unit, ConstNode hidden_size, int64_t layers)
{
    proj.entry("name").set("FeedForwardNetwork");
    proj.entry("input_unit").set(input_unit);
    Node units = proj.entry("layers_units");
    units.make_list();
    for (int64_t i = 0; i < layers; ++i)
        units.append().assign(hidden_size);
    Node acts = proj.entry("layers_activation");
    acts.make_list();
    for (int64_t i = 0; i < layers; ++i) {
        if (i + 1 < layers)
            acts.append().set("gelu");
        else
            acts.append().set_null();
    }
    proj.entry("use_bias").set(true);
}

/// cs-2.3 mmsimple-llava's `image_model_list: {image_model: [<tower>]}` (the list its model reads).
void write_image_model_list23(Node dst, ConstNode image)
{
    Node list = dst.entry("image_model_list");
    list.make_map();
    Node images = list.entry("image_model");
    images.make_list();
    images.append().assign(image);
}

void hf_to_cs(const Flavor& flavor, const sdk::Request& req, ConstNode src, Node dst)
{
    const std::string layout = " (the hf side of llava is one folder with image_model/ and text_model/, each with "
                               "its config.json; give that folder as the checkpoint and --config)";
    ConstNode image_src = section(src, kImageConfig, "no " + std::string(kImageConfig) + layout);
    ConstNode text_src = section(src, kTextConfig, "no " + std::string(kTextConfig) + layout);
    const bool pre24 = !sdk::cs_at_least(req.tgt_fmt, 2, 4);

    // Each section is built in a tree of its own and put into `dst` at the end.
    sdk::ScratchTree image_hf_tree(req.host->config), image_tree(req.host->config), text_tree(req.host->config),
        proj_tree(req.host->config);

    // The vision tower: a CLIPVisionConfig, or the vision part of a whole CLIPConfig.
    Node image_hf = image_hf_tree.root();
    image_hf.assign(image_src["vision_config"].is_map() ? image_src["vision_config"] : image_src);
    image_hf.entry("model_type").set("clip_vision_model");
    Node image = image_tree.root();
    clip_vit::hf_cs_config().run(req, image_hf, image);
    image.entry("name").set("ViTModel");
    for (const char* k : kNotCs23ImageKeys)
        if (pre24) // Model Zoo 2.4 stopped removing them
            image.erase(k);
    image.erase("fp16_type");

    Node text = text_tree.root();
    text_config().run(req, text_src, text);
    text.entry("name").set("LlamaModel");
    if (pre24)
        text.erase("mixed_precision");

    move_key(text, dst, "image_feature_select_mode", "text_model");
    const int64_t mm_hidden = text["mm_hidden_size"].as_int();
    if (mm_hidden != image["hidden_size"].as_int())
        throw ConfigConversionError("`mm_hidden_size should be same as the hidden_dim of mm_vision_tower (text_model "
                                    "mm_hidden_size " + std::to_string(mm_hidden) + ", image_model hidden_size " +
                                    std::to_string(image["hidden_size"].as_int()) + ")");
    text.erase("mm_hidden_size");
    const std::string type = text["projector"]["hf_type"].as_string();
    const int64_t layers = projector_layers(type);
    if (flavor.mmsimple23() && layers != 1)
        throw ConfigConversionError("mmsimple-llava's cs-2.3 projector is one Linear layer (mm_projector_type "
                                    "mlp1x_gelu); this text_model config has " + type +
                                    " (a LLaVA-1.5 projector): convert it to cs-2.4 or later, or with --model llava");
    Node proj = proj_tree.root();
    write_projector(proj, mm_hidden, text["hidden_size"], layers);
    text.erase("projector");
    move_key(text, dst, "freeze", "text_model");
    move_key(text, dst, "image_feature_select_layer_idx", "text_model");

    sdk::TableConfigConverter::fill(dst, {{"loss_weight", 1.0},
                                          {"loss_scaling", "num_tokens"},
                                          {"freeze", Value::list({Value("^image_model")})},
                                          {"label_smoothing", 0.0},
                                          {"z_loss_eps", 0.0},
                                          {"image_start_idx", 1},
                                          {"image_feature_select_mode", "patch"}});
    if (flavor.mmsimple) {
        // ConfigConverter_MMSimple_LLaVA_HF_CS23: the keys the MultimodalSimpleModel reads.
        if (text.has("embedding_dropout_rate"))
            move_key(text, dst, "embedding_dropout_rate", "text_model"); // renamed below
        image.entry("image_layer_idx").assign(dst["image_feature_select_layer_idx"]);
        dst.entry("global_image_projector").assign(proj);
        write_image_model_list23(dst, image);
    }
    dst.entry("image_model").assign(image);
    dst.entry("projector").make_map();
    dst.find_mut("projector").entry("image_model").assign(proj);
    dst.entry("text_model").assign(text);
    if (!pre24) // Model Zoo 2.4+: every HF -> CS model config names its model
        dst.entry("name").set(flavor.mmsimple ? "multimodal_simple" : "llava");
    if (flavor.mmsimple && dst.has("embedding_dropout_rate")) {
        dst.find_mut("text_model").entry("embd_pdrop").assign(dst["embedding_dropout_rate"]);
        dst.erase("embedding_dropout_rate");
    }
}

/// The vision tower's config in a cs-2.3 mmsimple-llava model section: `image_model_list.image_model[0]`
/// (what the MultimodalSimpleModel reads), else the `image_model` beside it.
ConstNode mmsimple23_image_model(ConstNode src)
{
    ConstNode list = src["image_model_list"]["image_model"];
    if (list.is_list() && list.size() > 1)
        throw ConfigConversionError("model.image_model_list.image_model has " + std::to_string(list.size()) +
                                    " image models; mmsimple-llava as the Model Zoo converts it has one");
    if (list.is_list() && list.size() == 1 && list.at(0).is_map())
        return list.at(0);
    return section(src, "image_model",
                   "the cs-2.3 mmsimple-llava config has no model.image_model_list.image_model[0] (the vision tower)");
}

/// Copies `text_model` from `src` to `dst`, its embedding dropout key renamed `from` -> `to` (the
/// cs-2.3 MultimodalSimpleModel reads `embd_pdrop`, Release 2.4.0 the llama table's own key).
void copy_text_model(ConstNode src, Node dst, const char* from, const char* to)
{
    Node text = dst.entry("text_model");
    text.assign(section(src, "text_model", "the CS config has no model.text_model section"));
    if (text.has(from)) {
        text.entry(to).assign(text[from]);
        text.erase(from);
    }
}

void cs_to_hf(const sdk::Request& req, ConstNode src, Node dst)
{
    sdk::ScratchTree image_tree(req.host->config), text_tree(req.host->config);
    Node image = image_tree.root();
    image.assign(section(src, "image_model", "the CS config has no model.image_model section"));
    Node text = text_tree.root();
    text.assign(section(src, "text_model", "the CS config has no model.text_model section"));
    // ConfigConverter_LLaVA_HF_CS22.pre_config_convert: the model-level keys the text table reads.
    for (const char* k : {"projector", "freeze", "image_feature_select_layer_idx", "image_feature_select_mode"}) {
        if (!src.has(k))
            throw ConfigConversionError(std::string("the CS model config has no `") + k + "`");
        text.entry(k).assign(src[k]);
    }
    text.entry("mm_hidden_size").assign(image["hidden_size"]);

    // LLaVA builds its image processor from this file; the Model Zoo writes CLIP's defaults with
    // the tower's image size.
    ConstNode size = image["image_size"];
    if (!size.is_list() || size.size() != 2)
        throw ConfigConversionError("image_model.image_size should be [height, width], got " + Value::read(size).str());

    {
        Node image_hf = dst.entry(kImageConfig);
        image_hf.make_map();
        clip_vit::hf_cs_config().run(req, image, image_hf);
        Node arch = image_hf.entry("architectures"); // what save_pretrained writes (design.md §5)
        arch.make_list();
        arch.append().set("CLIPVisionModel");
    }
    {
        Node pre = dst.entry(kPreprocessorConfig);
        pre.make_map();
        Node crop = pre.entry("crop_size");
        crop.make_map();
        crop.entry("height").assign(size.at(0));
        crop.entry("width").assign(size.at(1));
        pre.entry("do_center_crop").set(true);
        pre.entry("do_normalize").set(true);
        pre.entry("do_resize").set(true);
        pre.entry("feature_extractor_type").set("CLIPFeatureExtractor");
        Value::list({0.48145466, 0.4578275, 0.40821073}).write(pre.entry("image_mean"));
        Value::list({0.26862954, 0.26130258, 0.27577711}).write(pre.entry("image_std"));
        pre.entry("resample").set(3);
        pre.entry("size").assign(size.at(0));
    }
    Node text_hf = dst.entry(kTextConfig);
    text_hf.make_map();
    text_config().run(req, text, text_hf);
    // The Model Zoo writes the output image_model folder as it was typed; a plugin does not know
    // it, so the sibling folder's name (docs/decisions.md).
    text_hf.entry("mm_vision_tower").set(kImagePart);
}

} // namespace

void relayout_mmsimple_config(const sdk::Request& req, ConstNode src, Node dst, bool to24, bool cs23_model)
{
    // The keys each layout keeps in its own places; everything else at model level is copied.
    static const std::set<std::string> moved{"image_model",
                                             "image_model_list",
                                             "projector",
                                             "global_image_projector",
                                             "image_feature_select_layer_idx",
                                             "image_feature_select_mode",
                                             "image_start_idx",
                                             "text_model"};
    for (size_t i = 0; i < src.size(); ++i)
        if (!moved.count(src.key_at(i)))
            dst.entry(src.key_at(i)).assign(src.value_at(i));
    sdk::ScratchTree image_tree(req.host->config), proj_tree(req.host->config);
    Node image = image_tree.root();
    Node proj = proj_tree.root();
    if (to24) {
        // ConfigConverter_MMSimple_LLaVA_HF_CS24.post_config_convert (Release 2.4.0): the tower under
        // image_model_list.image_models[0].image_encoder with its layer index, the projector as
        // image_model_list.global_image_projection; image_start_idx is no longer written.
        image.assign(mmsimple23_image_model(src));
        if (!image.has("image_layer_idx")) {
            if (!src.has("image_feature_select_layer_idx"))
                throw ConfigConversionError("the cs-2.3 mmsimple-llava config has neither "
                                            "image_model.image_layer_idx nor model.image_feature_select_layer_idx");
            image.entry("image_layer_idx").assign(src["image_feature_select_layer_idx"]);
        }
        proj.assign(src["global_image_projector"].is_map()
                        ? src["global_image_projector"]
                        : section(src["projector"], "image_model",
                                  "the cs-2.3 mmsimple-llava config has no model.global_image_projector"));
        if (src.has("image_start_idx") && Value::read(src["image_start_idx"]) != Value(1))
            req.log(CKPT_LOG_WARNING, "model.image_start_idx " + Value::read(src["image_start_idx"]).str() +
                                          " is not written for cs-2.4 and later (the Model Zoo's 2.4 layout "
                                          "has no such key)");
        Node list = dst.entry("image_model_list");
        list.make_map();
        list.entry("global_image_projection").assign(proj);
        if (src.has("image_feature_select_mode"))
            list.entry("image_feature_select_mode").assign(src["image_feature_select_mode"]);
        else
            list.entry("image_feature_select_mode").set("patch");
        Node models = list.entry("image_models");
        models.make_list();
        Node first = models.append();
        first.make_map();
        first.entry("image_encoder").assign(image);
        copy_text_model(src, dst, "embd_pdrop", "embedding_dropout_rate");
        return;
    }
    // ConfigConverter_MMSimple_LLaVA_HF_CS24.pre_config_convert read backwards into the Release
    // 2.3.0 layout (ConfigConverter_MMSimple_LLaVA_HF_CS23.post_config_convert).
    ConstNode list = section(src, "image_model_list", "the cs-2.4+ mmsimple-llava config has no model.image_model_list");
    ConstNode models = list["image_models"];
    if (!models.is_list() || models.size() != 1 || !models.at(0)["image_encoder"].is_map())
        throw ConfigConversionError("model.image_model_list.image_models should be a list of one "
                                    "{image_encoder: ...} (mmsimple-llava as the Model Zoo converts it), got " +
                                    Value::read(models).str());
    image.assign(models.at(0)["image_encoder"]);
    if (!image.has("image_layer_idx"))
        throw ConfigConversionError("model.image_model_list.image_models[0].image_encoder has no image_layer_idx");
    if (cs23_model)
        for (const char* k : kNotCs23ImageKeys)
            image.erase(k);
    proj.assign(section(list, "global_image_projection",
                        "the cs-2.4+ mmsimple-llava config has no model.image_model_list.global_image_projection"));
    if (!list.has("image_feature_select_mode"))
        throw ConfigConversionError("the cs-2.4+ mmsimple-llava config has no "
                                    "model.image_model_list.image_feature_select_mode");
    dst.entry("image_feature_select_mode").assign(list["image_feature_select_mode"]);
    dst.entry("image_feature_select_layer_idx").assign(image["image_layer_idx"]);
    dst.entry("image_start_idx").set(1); // ConfigConverter_LLaVA_HF_CS22's default, which 2.4 drops
    dst.entry("global_image_projector").assign(proj);
    Node projector = dst.entry("projector");
    projector.make_map();
    projector.entry("image_model").assign(proj);
    dst.entry("image_model").assign(image);
    write_image_model_list23(dst, image);
    copy_text_model(src, dst, "embedding_dropout_rate", "embd_pdrop");
}

void convert_config(const Flavor& flavor, const sdk::Request& req, ConstNode src, Node dst)
{
    if (!flavor.cs24) {
        if (req.direction == 0)
            hf_to_cs(flavor, req, src, dst);
        else
            cs_to_hf(req, src, dst);
        return;
    }
    // mmsimple-llava cs-2.4+: the same conversion as for cs-2.3, then the 2.4 layout (or back).
    sdk::ScratchTree cs23(req.host->config);
    if (req.direction == 0) {
        hf_to_cs(flavor, req, src, cs23.root());
        relayout_mmsimple_config(req, cs23.root(), dst, true);
    } else {
        relayout_mmsimple_config(req, src, cs23.root(), false);
        cs_to_hf(req, cs23.root(), dst);
    }
}

} // namespace ckpt::llava
