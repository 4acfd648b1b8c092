// SPDX-License-Identifier: Apache-2.0
// Entry point of the clip_vit plugin: `clip-vit` with the Model Zoo 2.10 converter
// (Converter_CLIPViT_Projection_HF_CS21) and note; every CS release step is the host's generic one.
#include "clip_vit.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::clip_vit {
namespace {

class ClipVitHfConverter : public sdk::Converter {
public:
    explicit ClipVitHfConverter(const std::vector<std::string>& cs_formats)
        : Converter({"hf"}, cs_formats,
                    "hf CLIPVisionModelWithProjection <-> " + sdk::join(cs_formats) +
                        " ViTClassificationModel.\nWe map the projection layer in  `CLIPVisionModelWithProjection` "
                        "model to classifier layer in CS")
    {
    }

    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override
    {
        hf_cs_config().run(req, src, dst);
        if (req.direction != 0) {
            // What transformers' save_pretrained writes and loaders require.
            sdk::Node arch = dst.entry("architectures");
            arch.make_list();
            arch.append().set(kHfClass);
        } else if (sdk::cs_at_least(req.tgt_fmt, 2, 4) && !dst.has("name")) {
            dst.entry("name").set(kRegistryName);
        }
    }

    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                         sdk::Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0)
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
        sdk::apply_rules(*hf_cs_rules(), ctx);
        if (ctx.from == 1)
            check_model_shapes(hf_config, 1, plan.outputs());
    }
};

} // namespace
} // namespace ckpt::clip_vit

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt;
    def.info("clip_vit", "1.0", "CLIP vision towers between Hugging Face and Cerebras Model Zoo releases");
    def.model("clip-vit")
        .registry_name(clip_vit::kRegistryName)
        .add(std::make_shared<clip_vit::ClipVitHfConverter>(sdk::cs_formats({2, 1})));
}
