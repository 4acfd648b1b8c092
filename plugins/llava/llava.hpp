// SPDX-License-Identifier: Apache-2.0
// What the llava plugin's files share: the two flavours (llava, mmsimple-llava), the compound
// Hugging Face layout they read and write, and the config and checkpoint conversions.
#pragma once

#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>

#include <string>
#include <vector>

namespace ckpt::llava {

/// The two Model Zoo models over the same HF folder layout (docs/mappings-llava.md).
struct Flavor {
    bool mmsimple = false; // mmsimple-llava; else llava
    bool cs24 = false;     // mmsimple-llava's Release 2.4.0 layout (Converter_MMSimple_LLaVA_HF_CS24), cs-2.4+

    /// mmsimple-llava as Release 2.3.0 converts it: one projector Linear copied once per vision layer.
    bool mmsimple23() const { return mmsimple && !cs24; }
    /// CS prefix of the vision tower's tensors.
    std::string cs_tower_prefix() const { return mmsimple ? "image_model.image_model_list.0.0." : "image_model."; }
    /// CS prefix of the projector's Linear layers (`<prefix><i>.linear_layer.{weight,bias}`).
    std::string cs_projector_prefix() const { return mmsimple ? "image_model.projection.ffn." : "projector_image_model.ffn."; }
};

/// The parts of the compound HF folder (docs/abi.md §6): config files and tensors are named
/// `<part>/<name>`.
inline constexpr const char* kImagePart = "image_model";
inline constexpr const char* kTextPart = "text_model";
inline constexpr const char* kImageConfig = "image_model/config.json";
inline constexpr const char* kPreprocessorConfig = "image_model/preprocessor_config.json";
inline constexpr const char* kTextConfig = "text_model/config.json";

/// The vision tower's config keys Release 2.3.0 removes as "non-kwargs" of its ViTModel; 2.4.0 keeps them.
inline constexpr const char* kNotCs23ImageKeys[] = {"mixed_precision", "num_classes", "use_bias_in_output"};

/// HF (a compound config) -> CS model section, or back (ConfigConverter_LLaVA_HF_CS22 and
/// ConfigConverter_MMSimple_LLaVA_HF_CS23).
void convert_config(const Flavor& flavor, const sdk::Request& req, sdk::ConstNode src, sdk::Node dst);

/// The CS config of mmsimple-llava's cs-2.4+ layout (`image_model_list.image_models[0].image_encoder`,
/// `image_model_list.global_image_projection`) rewritten into the cs-2.3 layout, or back (`to24`);
/// the model sections only. `cs23_model` (to cs-2.3 only) also removes the tower's keys the cs-2.3
/// ViTModel does not take, as a cs-2.3 checkpoint needs them; cs -> hf keeps them for the HF config.
void relayout_mmsimple_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst, bool to24,
                              bool cs23_model = false);

/// The tensors of both parts and the projector, in either direction.
void plan_checkpoint(const Flavor& flavor, const sdk::Request& req, sdk::ConstNode hf_config,
                     sdk::ConstNode cs_config, sdk::Plan& plan);

/// Refuses (exit 1, every contradiction listed) HF tensors `hf_tensors` (named `<part>/<name>`)
/// whose shapes the part configs `hf_image` and `hf_text` contradict; `from` names the side whose
/// keys the messages use (0 HF, 1 CS).
void check_model_shapes(const Flavor& flavor, sdk::ConstNode hf_image, sdk::ConstNode hf_text, int from,
                        const std::vector<sdk::TensorDesc>& hf_tensors);

/// The cs-2.3 <-> cs-2.4 ... cs-2.9 step of llava or mmsimple-llava (llava_release_step.cpp).
std::shared_ptr<sdk::Converter> make_cs23_cs24(const Flavor& flavor);

} // namespace ckpt::llava
