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
    bool mmsimple = false; // mmsimple-llava (Converter_MMSimple_LLaVA_HF_CS23); else llava

    /// CS prefix of the vision tower's tensors.
    std::string cs_tower_prefix() const { return mmsimple ? "image_model.image_model_list.0.0." : "image_model."; }
};

/// The parts of the compound HF folder (docs/abi.md §6): config files and tensors are named
/// `<part>/<name>`.
inline constexpr const char* kImagePart = "image_model";
inline constexpr const char* kTextPart = "text_model";
inline constexpr const char* kImageConfig = "image_model/config.json";
inline constexpr const char* kPreprocessorConfig = "image_model/preprocessor_config.json";
inline constexpr const char* kTextConfig = "text_model/config.json";

/// HF (a compound config) -> CS model section, or back (ConfigConverter_LLaVA_HF_CS22 and
/// ConfigConverter_MMSimple_LLaVA_HF_CS23).
void convert_config(const Flavor& flavor, const sdk::Request& req, sdk::ConstNode src, sdk::Node dst);

/// The tensors of both parts and the projector, in either direction.
void plan_checkpoint(const Flavor& flavor, const sdk::Request& req, sdk::ConstNode hf_config,
                     sdk::ConstNode cs_config, sdk::Plan& plan);

/// Refuses (exit 1, every contradiction listed) HF tensors `hf_tensors` (named `<part>/<name>`)
/// whose shapes the part configs `hf_image` and `hf_text` contradict; `from` names the side whose
/// keys the messages use (0 HF, 1 CS).
void check_model_shapes(const Flavor& flavor, sdk::ConstNode hf_image, sdk::ConstNode hf_text, int from,
                        const std::vector<sdk::TensorDesc>& hf_tensors);

} // namespace ckpt::llava
