// SPDX-License-Identifier: Apache-2.0
// CLIP vision config rules between Hugging Face CLIPVisionConfig and the Cerebras ViT
// classification config: the Model Zoo's ConfigConverter_CLIPViT_HF_CS21 (its own rows first,
// then the ViT rows it inherits), defaults and pre/post steps (docs/mappings-esm2-clip-mixtral.md §2.3).
#include "clip_vit.hpp"

namespace ckpt::clip_vit {

using sdk::ConfigAction;
using sdk::ConstNode;
using sdk::Node;
using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::Value;

namespace {

constexpr int kHf = 0;
constexpr int kCs = 1;

std::vector<sdk::Segment> same(const char* key) { return {eq(key, key)}; }

/// HF's square size `n` <-> CS's `[n, n]`; a CS width other than its height has no HF form.
ConfigAction convert_image_patch_size()
{
    return sdk::config_action("convert_image_patch_size", [](ConfigContext& c, const std::string& o, const std::string& n) {
        ConstNode v = c.src[o];
        if (c.from == kHf) {
            Node list = c.dst.entry(n);
            list.make_list();
            list.append().assign(v);
            list.append().assign(v);
            return;
        }
        if (!v.is_list() || v.size() != 2)
            throw ConfigConversionError("Can't convert config with " + o + "=" + Value::read(v).str() +
                                        ". Expected [width, height].");
        if (Value::read(v.at(0)) != Value::read(v.at(1)))
            throw ConfigConversionError("Can't convert config with " + o + "=" + Value::read(v).str() +
                                        ". Image width and height need to match.");
        c.dst.entry(n).assign(v.at(0));
    });
}

/// Activation names that differ between transformers and the Model Zoo; others pass as they are.
ConfigAction convert_nonlinearity()
{
    return sdk::config_action("convert_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string& n) {
        static const std::pair<const char*, const char*> kPairs[] = {
            {"silu", "swiglu"}, {"gelu_pytorch_tanh", "gelu_new"}, {"quick_gelu", "quick_gelu"}};
        ConstNode v = c.src[o];
        if (v.kind() == CKPT_NODE_STRING) {
            const std::string name = v.as_string();
            for (const auto& [hf, cs] : kPairs)
                if (name == (c.from == kHf ? hf : cs)) {
                    c.dst.entry(n).set(c.from == kHf ? cs : hf);
                    return;
                }
        }
        c.dst.entry(n).assign(v);
    });
}

class ClipVitConfigConverter : public sdk::TableConfigConverter {
public:
    ClipVitConfigConverter()
    {
        using sdk::assert_value;
        using sdk::rename_key;
        // ConfigConverter_CLIPViT_HF_CS21's own rows; they shadow the ViT rows below.
        rules.add(same("model_type"), assert_value(kHf, {Value("clip_vision_model")}));
        rules.add(same("use_post_embed_layer_norm"), assert_value(kCs, {Value(true)}));
        rules.add(same("use_embed_proj_bias"), assert_value(kCs, {Value(false)}));
        rules.add(same("use_bias_in_output"), assert_value(kCs, {Value(false)}));
        rules.add({eq("projection_dim", "num_classes")}, rename_key());
        rules.add({eq("attention_dropout", "attention_dropout_rate")}, rename_key());
        rules.add(same("dropout_rate"), sdk::ConfigAction{}); // CLIP has no hidden dropout
        rules.add(same("position_embedding_type"), assert_value(kCs, {Value("learned")}));
        // ConfigConverter_ViT_HF_CS21 / ConfigConverter_ViT_Core_HF_CS21.
        rules.add({eq("num_labels", "num_classes")}, rename_key());
        rules.add(same("hidden_size"), rename_key());
        rules.add(same("num_hidden_layers"), rename_key());
        rules.add({eq("layer_norm_eps", "layer_norm_epsilon")}, rename_key());
        rules.add({eq("num_attention_heads", "num_heads")}, rename_key());
        rules.add(same("attention_type"), assert_value(kCs, {Value("scaled_dot_product")}));
        rules.add({eq("hidden_dropout_prob", "dropout_rate")}, rename_key());
        rules.add({eq("hidden_act", "nonlinearity")}, convert_nonlinearity());
        rules.add({eq("attention_probs_dropout_prob", "attention_dropout_rate")}, rename_key());
        rules.add(same("use_projection_bias_in_attention"), assert_value(kCs, {Value(true)}));
        rules.add(same("use_ffn_bias_in_attention"), assert_value(kCs, {Value(true)}));
        rules.add({eq("intermediate_size", "filter_size")}, rename_key());
        rules.add(same("use_ffn_bias"), assert_value(kCs, {Value(true)}));
        rules.add(same("initializer_range"), rename_key());
        rules.add(same("image_size"), convert_image_patch_size());
        rules.add(same("num_channels"), rename_key());
        rules.add(same("patch_size"), convert_image_patch_size());
        rules.add(same("use_conv_patchified_embedding"), assert_value(kCs, {Value(true)}));

        pre_defaults[kHf] = {{"hidden_act", Value("quick_gelu")},
                             {"hidden_size", Value(768)},
                             {"image_size", Value(224)},
                             {"initializer_range", Value(0.02)},
                             {"intermediate_size", Value(3072)},
                             {"layer_norm_eps", Value(1.0e-05)},
                             {"model_type", Value("clip_vision_model")},
                             {"num_attention_heads", Value(12)},
                             {"num_channels", Value(3)},
                             {"num_hidden_layers", Value(12)},
                             {"patch_size", Value(32)},
                             {"attention_dropout", Value(0.0)},
                             {"initializer_factor", Value(1.0)},
                             {"projection_dim", Value(512)}};
        pre_defaults[kCs] = {{"use_conv_patchified_embedding", Value(true)},
                             {"prepend_cls_token", Value(true)},
                             {"use_encoder_pooler_layer", Value(false)},
                             {"position_embedding_type", Value("learned")},
                             {"num_classes", Value(512)},
                             {"use_post_embed_layer_norm", Value(true)},
                             {"dropout_rate", Value(0.0)},
                             {"use_embed_proj_bias", Value(false)},
                             {"use_bias_in_output", Value(false)},
                             {"attention_type", Value("scaled_dot_product")},
                             {"use_projection_bias_in_attention", Value(true)},
                             {"use_ffn_bias_in_attention", Value(true)},
                             {"use_ffn_bias", Value(true)}};
        post_defaults[kHf] = {{"model_type", Value("clip_vision_model")}};
        post_defaults[kCs] = {{"use_conv_patchified_embedding", Value(true)},
                              {"prepend_cls_token", Value(true)},
                              {"use_encoder_pooler_layer", Value(false)},
                              {"position_embedding_type", Value("learned")},
                              {"num_classes", Value(512)},
                              {"use_bias_in_output", Value(false)},
                              {"use_post_embed_layer_norm", Value(true)},
                              {"dropout_rate", Value(0.0)},
                              {"use_embed_proj_bias", Value(false)},
                              {"attention_type", Value("scaled_dot_product")},
                              {"norm_first", Value(true)},
                              {"use_projection_bias_in_attention", Value(true)},
                              {"use_ffn_bias_in_attention", Value(true)},
                              {"use_ffn_bias", Value(true)}};
    }

protected:
    void pre_convert(ConfigContext& c, Node work) const override
    {
        // The CS patch embedding is a convolution whose stride is the patch size.
        ConstNode stride = work["encoder_stride"];
        if (c.from == kHf && stride.present() && Value::read(stride) != Value::read(work["patch_size"]))
            throw ConfigConversionError(c.req.tgt_fmt + " model only supports encoder_stride == patch_size");
    }
};

} // namespace

const sdk::TableConfigConverter& hf_cs_config()
{
    static const ClipVitConfigConverter converter;
    return converter;
}

} // namespace ckpt::clip_vit
