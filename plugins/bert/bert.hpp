// SPDX-License-Identifier: Apache-2.0
// What the bert plugin's files share: the family's variants, rule tables, config converters and
// converter factories.
#pragma once

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/plugin.hpp>
#include <ckptconv/cpp/rules.hpp>
#include <ckptconv/cpp/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ckpt::bert {

using sdk::ConstNode;
using sdk::Node;
using sdk::Plan;
using sdk::Request;

/// One Hugging Face class the plugin converts.
enum class Variant {
    pretrain,            // BertForPreTraining  <-> BertPretrainModel (`bert_encoder.` + heads)
    sequence_classifier, // BertForSequenceClassification (CS keys keep `bert.`)
    token_classifier,    // BertForTokenClassification
    question_answering,  // BertForQuestionAnswering
    roberta,             // RobertaForMaskedLM <-> BertPretrainModel
};

/// The HF class name (written as `architectures`).
std::string hf_class(Variant v);
/// The Model Zoo's registry name, written as `name` into cs-2.4+ configs (spec §1.5).
std::string registry_name(Variant v);

// ---- config values (the SDK's, and bert_family.cpp) -----------------------------------------

using sdk::config_flag_or;
using sdk::config_int;
using sdk::config_string_or;

/// An integer entry (integral floats accepted); `fallback` when missing or null.
int64_t config_int_or(ConstNode config, const std::string& key, int64_t fallback);

// ---- checkpoint rules (bert_checkpoint_rules.cpp) ------------------------------------------

/// Which CS release's key spelling a rule table produces.
enum class CsKeys {
    cs21, // cs-2.1+: `position_embeddings.embed.weight`, optional `model.` prefix accepted
    cs18, // cs-1.8 ... cs-2.0: `position_embeddings.weight`, optional `model.` prefix accepted
    cs17, // cs-1.7: as cs-1.8, no `model.` prefix
};

/// HF (side 0; for the cs-1.6 steps: the HF-like cs-1.6 names) <-> CS (side 1) keys of `variant`.
std::shared_ptr<const sdk::CheckpointRules> hf_cs_rules(Variant variant, CsKeys keys);

/// The cs-1.6 fine-tune models' rename: the encoder under `bert.` as in hf_cs_rules, every
/// other key (the task heads, whose names did not change) copied as it is.
std::shared_ptr<const sdk::CheckpointRules> finetune_cs16_rules(CsKeys keys);

/// True when the source inventory of `plan` holds `name` (without marking it used).
bool has_input(const Plan& plan, const std::string& name);

/// HF -> CS: the MLM decoder weight and bias a checkpoint may lack (safetensors drops tied
/// aliases), restored from the word embeddings / `cls.predictions.bias` (`lm_head.bias`, zeros).
void restore_mlm_decoder(const Request& req, Variant variant, ConstNode hf_config, Plan& plan);
/// RoBERTa CS -> HF: zero token-type embeddings when CS has no segment embeddings.
void add_roberta_token_types(ConstNode hf_config, ConstNode cs_config, Plan& plan);

// ---- config rules (bert_config_rules.cpp) --------------------------------------------------

/// The Model Zoo's ConfigConverter_{Bert,BertFor*,Roberta}_HF_CS21/23 for `variant`.
const sdk::TableConfigConverter& hf_cs_config(Variant variant);

// ---- model shapes (bert_model_shapes.cpp) -------------------------------------------------------
/// Checks the Hugging Face side of a conversion (the source tensors on HF -> CS, the planned
/// outputs on CS -> HF) against the sizes `hf_config` gives; `from` is the side converted from.
/// Throws sdk::Error(CKPT_ERR_BAD_INPUT) listing the contradictions.
void check_model_shapes(ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

// ---- converters ----------------------------------------------------------------------------

/// hf <-> `cs_formats` for `variant`.
std::shared_ptr<sdk::Converter> make_hf_converter(Variant variant, std::vector<std::string> cs_formats);
/// Converter_BertPretrainModel_CS16_CS17 / _CS16_CS18 (finetune: Converter_BertFinetuneModel_*).
std::shared_ptr<sdk::Converter> make_cs16_converter(bool finetune, bool to_cs17);
/// Converter_Bert_CS17_CS18: cs-1.7 <-> cs-1.8, cs-1.9, cs-2.0 (nonlinearity keys).
std::shared_ptr<sdk::Converter> make_cs17_cs18();
/// Converter_Bert_CS18_CS20: cs-1.8, cs-1.9 <-> cs-2.0 (tie repair).
std::shared_ptr<sdk::Converter> make_cs18_cs20();
/// Converter_Bert_CS20_CS21: cs-2.0 <-> cs-2.1 (position-embedding renames, fp16_type).
std::shared_ptr<sdk::Converter> make_cs20_cs21();

// ---- release config changes (bert_release_steps.cpp) ---------------------------------------

/// cs-1.7 -> cs-1.8 model config: adds `pooler_nonlinearity` and `mlm_nonlinearity`.
void upgrade_nonlinearities_cs17_to_cs18(ConstNode src, Node dst);
/// cs-1.8 -> cs-1.7 model config: removes them, raising ConfigConversionError when cs-1.7
/// cannot express them.
void downgrade_nonlinearities_cs18_to_cs17(ConstNode src, Node dst, const std::string& target);

} // namespace ckpt::bert
