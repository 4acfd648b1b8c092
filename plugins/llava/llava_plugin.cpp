// SPDX-License-Identifier: Apache-2.0
// Entry point of the llava plugin: `llava` (hf <-> cs-2.2 ... cs-2.9, Converter_LLaVA_HF_CS22 as
// Model Zoo 2.10 has it) and `mmsimple-llava` (hf <-> cs-2.3 with the 2.3 converter, hf <-> cs-2.4
// ... cs-2.9 with the 2.4 one, and the step between their layouts), with the Model Zoo notes.
#include "llava.hpp"

#include <ckptconv/cpp/family.hpp>

namespace ckpt::llava {
namespace {

const char* const kLayoutNote =
    "LLaVA convertor for CLIP-ViT and LLaMA backbones for `image_model` and `text_model`. The hf side is ONE "
    "folder, given as the checkpoint (and as --config, its default): `image_model/` holds the CLIP vision "
    "tower (CLIPVisionModel checkpoint, config.json, preprocessor_config.json) and `text_model/` the LLaMA "
    "checkpoint with the `model.mm_projector` weights and a config.json with the LLaVA keys (mm_hidden_size, "
    "mm_projector_type, mm_vision_select_layer, ...), as the original LLaVA code saves them. cs -> hf writes "
    "the same two folders into the output directory.";

class LlavaConverter : public sdk::Converter {
public:
    LlavaConverter(Flavor flavor, const std::vector<std::string>& cs_formats)
        : Converter({"hf"}, cs_formats,
                    std::string(kLayoutNote) +
                        (flavor.cs24       ? " MMSimple LLaVA converter using CLIP-ViT and LLaMA backbones (the "
                                             "Release 2.4.0 layout: image_model_list.image_models, "
                                             "global_image_projection; the projector as llava's, mlp<N>x_gelu)."
                         : flavor.mmsimple ? " MMSimple LLaVA converter using CLIP-ViT and LLaMA backbones; the projector "
                                             "is one Linear layer (mm_projector_type mlp1x_gelu)."
                                           : "")),
          m_flavor(flavor)
    {
    }

    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override
    {
        llava::convert_config(m_flavor, req, src, dst);
    }

    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                         sdk::Plan& plan) override
    {
        llava::plan_checkpoint(m_flavor, req, hf_config, cs_config, plan);
    }

private:
    Flavor m_flavor;
};

} // namespace
} // namespace ckpt::llava

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt;
    def.info("llava", "1.0", "LLaVA multimodal models (CLIP vision tower, LLaMA, projector) between Hugging Face "
                             "folders and Cerebras Model Zoo releases");
    def.model("llava")
        .add(std::make_shared<llava::LlavaConverter>(llava::Flavor{false}, sdk::cs_formats({2, 2})))
        .add(llava::make_cs23_cs24(llava::Flavor{false}));
    def.model("mmsimple-llava")
        .registry_name("multimodal_simple")
        .add(std::make_shared<llava::LlavaConverter>(llava::Flavor{true}, sdk::cs_formats({2, 3}, {2, 3})))
        .add(std::make_shared<llava::LlavaConverter>(llava::Flavor{true, true}, sdk::cs_formats({2, 4})))
        .add(llava::make_cs23_cs24(llava::Flavor{true}));
}
