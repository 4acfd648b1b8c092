// SPDX-License-Identifier: Apache-2.0
// What the clip_vit plugin's files share: the tensor rule table and the config converter.
#pragma once

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/model_shapes.hpp>
#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>

#include <memory>

namespace ckpt::clip_vit {

/// The HF class, written as `architectures`.
inline constexpr const char* kHfClass = "CLIPVisionModelWithProjection";
/// The Model Zoo registry name, written as `name` into cs-2.4+ configs.
inline constexpr const char* kRegistryName = "vision_transformer";

/// HF (side 0) <-> CS (side 1) tensor names of CLIPVisionModelWithProjection /
/// ViTClassificationModel, CS keys with or without the legacy `model.` prefix
/// (Converter_CLIPViT_Projection_HF_CS21).
std::shared_ptr<const sdk::CheckpointRules> hf_cs_rules();

/// The vision transformer alone, below HF `vision_model.` and CS `vit_model.` (the Model Zoo's
/// Converter_CLIPViT_Core_HF_CS21); the multimodal llava plugin puts it under its own prefixes.
std::shared_ptr<sdk::CheckpointRules> vision_rules();

/// ConfigConverter_CLIPViT_HF_CS21: the table, defaults and pre/post steps.
const sdk::TableConfigConverter& hf_cs_config();

/// Adds the shapes a CLIPVisionConfig implies for the vision transformer (HF names, with or
/// without `vision_model.`) and, with `projection`, for `visual_projection` to `s`.
void expect_vision_shapes(sdk::ModelShapes& s, bool projection);

/// Refuses (exit 1, every contradiction listed) HF tensors `hf_tensors` whose shapes the HF config
/// `hf_config` contradicts; `from` names the side whose keys the messages use (0 HF, 1 CS).
void check_model_shapes(sdk::ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

} // namespace ckpt::clip_vit
