// SPDX-License-Identifier: Apache-2.0
// What the gpt2 plugin's files share: GPT-2 as a decoder family table, and its converters.
#pragma once

#include <ckptconv/cpp/gpt2_style.hpp>
#include <ckptconv/cpp/plugin.hpp>

#include <memory>

namespace ckpt::gpt2 {

/// The Model Zoo's registry name of both gpt2 models (written as `name` in cs-2.4+ configs).
inline constexpr const char* kRegistryName = "gpt2";

/// GPT-2 (GPT2LMHeadModel / GPT2Model <-> CS GPT2LMHeadModel) as a decoder table: key rows, the
/// ConfigConverter_GPT2Model_HF_CS21 table and the HF shapes (gpt2_family.cpp).
const sdk::DecoderFamily& family();

/// The HF <-> cs-2.1+ key rules of `gpt2` (`lm_head` true) or `gpt2-headless`; CS keys are also
/// accepted with a leading `model.`.
std::shared_ptr<const sdk::CheckpointRules> hf_cs21_rules(bool lm_head);

/// hf <-> cs-2.1 ... cs-2.9 for `gpt2` (lm_head) or `gpt2-headless` (gpt2_hf_converter.cpp).
std::shared_ptr<sdk::Converter> make_hf_converter(bool lm_head);
/// Converter_GPT2LMHeadModel_CS22_CS23: cs-2.2 <-> cs-2.3 ... cs-2.9 (gpt2_release_steps.cpp).
std::shared_ptr<sdk::Converter> make_cs22_cs23();

} // namespace ckpt::gpt2
