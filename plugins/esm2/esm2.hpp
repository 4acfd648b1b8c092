// SPDX-License-Identifier: Apache-2.0
// What the esm2 plugin's files share: the rule tables, the config converter and the few family
// facts the converter needs (names of the tensors CS has no place for, config readers).
#pragma once

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>
#include <ckptconv/cpp/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ckpt::esm2 {

using sdk::ConstNode;
using sdk::Node;
using sdk::Plan;
using sdk::Request;

/// The HF class, written as `architectures`.
inline constexpr const char* kHfClass = "EsmForMaskedLM";
/// The Model Zoo registry name, written as `name` into cs-2.4+ configs.
inline constexpr const char* kRegistryName = "esm2";

using sdk::config_int;
using sdk::config_string_or;

/// HF (side 0) <-> CS (side 1) tensor names of EsmForMaskedLM / Esm2ForPreTrainingModel, CS keys
/// with or without the legacy `model.` prefix (Converter_Esm2PretrainModel_HF_CS21).
std::shared_ptr<const sdk::CheckpointRules> hf_cs_rules();

/// ConfigConverter_Esm2_HF_CS21: the table, defaults and pre/post steps.
const sdk::TableConfigConverter& hf_cs_config();

/// HF -> CS: the tied MLM decoder weight a safetensors file omits, from the word embeddings.
void restore_mlm_decoder(const Request& req, ConstNode hf_config, Plan& plan);

/// CS -> HF: what EsmForMaskedLM's state dict holds and CS has no counterpart for (rotary
/// inverse frequencies; with rotary positions, the unused absolute position table; the contact
/// head), so the output loads strictly. Each generated tensor is named in the log.
void add_hf_only_tensors(const Request& req, ConstNode hf_config, Plan& plan);

/// hf <-> `cs_formats` (Converter_Esm2PretrainModel_HF_CS21).
/// Refuses (exit 1, every contradiction listed) HF tensors `hf_tensors` whose shapes the HF config
/// `hf_config` contradicts; `from` names the side whose keys the messages use (0 HF, 1 CS).
void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

std::shared_ptr<sdk::Converter> make_hf_converter(std::vector<std::string> cs_formats);

} // namespace ckpt::esm2
