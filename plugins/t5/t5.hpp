// SPDX-License-Identifier: Apache-2.0
// What the t5 plugin's files share: family facts, rule tables, config converter, converters.
#pragma once

#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>
#include <ckptconv/cpp/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ckpt::t5 {

using sdk::ConstNode;
using sdk::Node;
using sdk::Plan;
using sdk::Request;

// ---- family facts (t5_family.cpp) ---------------------------------------------------------

/// The releases Converter_T5_HF_CS21 serves (cs-2.1, cs-2.2) and Converter_T5_HF_CS23 serves
/// (cs-2.3 ... cs-2.9), as Model Zoo 2.10 lists them.
std::vector<std::string> hf_cs21_formats();
std::vector<std::string> hf_cs23_formats();
/// The CS registry name written as `name` in cs-2.4+ configs for a --model spelling
/// (spec/mappings.md §1.5): `transformer` is its own registry entry; t5, ul2 and flan-ul2 are `t5`.
std::string registry_name(const std::string& model);
/// True when the source inventory of `plan` has a tensor `name` (without marking it matched).
bool has_input(const Plan& plan, const std::string& name);
/// A boolean config flag; `fallback` when absent or null.
bool flag_or(ConstNode config, const std::string& key, bool fallback);
/// Whether the feed-forward is gated: HF `feed_forward_proj` "gated-*" when side 0 is HF,
/// otherwise a CS `encoder_nonlinearity` ending in "glu".
bool is_gated(ConstNode hf_config, ConstNode cs_config);

// ---- checkpoint rules (t5_checkpoint_rules.cpp) -------------------------------------------

/// Converter_T5_HF_CS21/CS23's rules (spec/mappings.md §2.5b): side 0 Hugging Face, side 1
/// Cerebras; CS keys are also accepted with a leading `model.`.
std::shared_ptr<const sdk::CheckpointRules> hf_cs_rules();
/// Converter_T5_CS16_CS17 / CS16_CS18's rules: side 0 cs-1.6 (HF-like names, per-block relative
/// bias), side 1 cs-1.7 names; `optional_model` accepts a `model.` prefix on side 1 (cs-1.8).
std::shared_ptr<const sdk::CheckpointRules> cs16_rules(bool optional_model);

/// CS -> HF: the Cerebras word embedding `shared.weight` is written from ("" when none).
std::string shared_source(const Plan& plan);
/// CS -> HF (HF converters): writes `shared.weight` and the names transformers ties to it
/// (`{encoder,decoder}.embed_tokens.weight` for each Cerebras embedding present, `lm_head.weight`
/// when `tie_word_embeddings`) from one value, first in the plan; the rule actions for those keys
/// then only mark them matched. muP factors are folded in.
void write_tied_embeddings(sdk::CheckpointContext& ctx);

// ---- config rules (t5_config_rules.cpp) ---------------------------------------------------

/// ConfigConverter_T5_HF_CS21 / CS23: the table, defaults and pre-checks of spec §2.5c.
const sdk::TableConfigConverter& hf_cs_config();

// ---- muP (t5_mup.cpp) ----------------------------------------------------------------------

/// True when a Cerebras T5 model section is muP (any `mup_base_*` key set).
bool is_mup(ConstNode cs_model);
/// The factor the muP -> sP fold multiplies Cerebras tensor `cs_key` by (1.0: untouched).
/// Throws when a key the fold needs (d_model, d_kv) is missing or not a positive number.
double mup_factor(ConstNode cs_model, const std::string& cs_key);
/// The sP config: the muP keys removed, `share_embedding_weights` false when present.
void mup_config_to_sp(Node work);

// ---- model shapes (t5_model_shapes.cpp) ---------------------------------------------------------
/// Checks the Hugging Face side of a conversion (the source tensors on HF -> CS, the planned
/// outputs on CS -> HF) against the sizes `hf_config` gives; `from` is the side converted from.
/// Throws sdk::Error(CKPT_ERR_BAD_INPUT) listing the contradictions.
void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

// ---- converters ----------------------------------------------------------------------------

/// Converter_T5_HF_CS21 (cs-2.1, cs-2.2) when `cs23` is false, Converter_T5_HF_CS23 otherwise.
std::shared_ptr<sdk::Converter> make_hf_converter(bool cs23);
/// The CS release steps of spec §3, in the Model Zoo's registry order.
std::shared_ptr<sdk::Converter> make_cs16_cs17();
std::shared_ptr<sdk::Converter> make_cs16_cs18();
std::shared_ptr<sdk::Converter> make_cs17_cs18();
std::shared_ptr<sdk::Converter> make_cs18_cs20();
std::shared_ptr<sdk::Converter> make_cs20_cs21();

} // namespace ckpt::t5
