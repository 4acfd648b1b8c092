// SPDX-License-Identifier: Apache-2.0
// What the gpt2 plugin's files share: rule tables, config converters, muP folding, converters.
#pragma once

#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>
#include <ckptconv/cpp/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ckpt::gpt2 {

using sdk::ConstNode;
using sdk::Node;
using sdk::Plan;
using sdk::Request;

/// The Model Zoo's registry name of both gpt2 models (written as `name` in cs-2.4+ configs).
inline constexpr const char* kRegistryName = "gpt2";

/// The cs-2.1+ release formats one HF converter serves (2.10's single group).
std::vector<std::string> cs21_plus_formats();
/// Parses "cs-X.Y" into X*100+Y; -1 for anything else.
int cs_version(const std::string& fmt);

// ---- checkpoint rules (gpt2_checkpoint_rules.cpp) ------------------------------------------

/// `Converter_GPT2LMHeadModel_HF_CS21` (lm_head = true) or `Converter_GPT2Model_HF_CS21`: side 0
/// is Hugging Face, side 1 Cerebras; CS keys are also accepted with a leading `model.`.
std::shared_ptr<const sdk::CheckpointRules> hf_cs21_rules(bool lm_head);

/// True when the source inventory of `plan` has a tensor `name` (without marking it matched).
bool has_input(const Plan& plan, const std::string& name);

/// The source tensor `name` as an HF <-> CS action should use it: on CS -> HF, muP scale factors
/// (spec §5.1) are folded in here, before the key is renamed, as the Model Zoo does.
ckpt_value_id source_value(sdk::CheckpointContext& ctx, const std::string& name);

// ---- config rules (gpt2_config_rules.cpp) --------------------------------------------------

/// `ConfigConverter_GPT2Model_HF_CS21`: the table, defaults and pre-steps of spec §2.1c.
const sdk::TableConfigConverter& hf_cs21_config();

// ---- muP (gpt2_mup.cpp) --------------------------------------------------------------------

enum class MupKind { none, pre_cs23, post_cs23 };

/// Which muP parameterisation a CS model section uses (select_mup_converter). Throws
/// ConfigConversionError for a partial pre-2.3 set.
MupKind detect_mup(ConstNode cs_model);
/// The factor the muP -> sP fold multiplies CS tensor `cs_key` by (1.0: untouched).
double mup_factor(ConstNode cs_model, const std::string& cs_key);
/// The sP config: muP keys removed, `share_embedding_weights` set false when present.
void mup_config_to_sp(Node work, MupKind kind);

// ---- model shapes (gpt2_model_shapes.cpp) -------------------------------------------------
/// Checks the Hugging Face side of a conversion (the source tensors on HF -> CS, the planned
/// outputs on CS -> HF) against the sizes `hf_config` gives; `from` is the side converted from.
/// Throws sdk::Error(CKPT_ERR_BAD_INPUT) listing the contradictions.
void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

// ---- converters ----------------------------------------------------------------------------

/// hf <-> cs-2.1 ... cs-2.9 for `gpt2` (lm_head) or `gpt2-headless`.
std::shared_ptr<sdk::Converter> make_hf_converter(bool lm_head);
/// Converter_GPT2LMHeadModel_CS18_CS20: cs-1.8, cs-1.9 <-> cs-2.0.
std::shared_ptr<sdk::Converter> make_cs18_cs20();
/// Converter_GPT2LMHeadModel_CS20_CS21: cs-2.0 <-> cs-2.1.
std::shared_ptr<sdk::Converter> make_cs20_cs21();
/// Converter_GPT2LMHeadModel_CS22_CS23: cs-2.2 <-> cs-2.3 ... cs-2.9.
std::shared_ptr<sdk::Converter> make_cs22_cs23();

} // namespace ckpt::gpt2
