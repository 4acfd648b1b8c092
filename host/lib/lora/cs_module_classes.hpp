// SPDX-License-Identifier: Apache-2.0
// Which Model Zoo module classes a Cerebras tensor lives in, for matching LoRA target_modules.
#pragma once

#include "core/node.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ckpt::lora {

/// The class names from the Model Zoo model down to the module `module` (a state-dict key without
/// its `.weight`, with or without the `model.` prefix a training checkpoint has), as
/// make_model_lora sees them: e.g. for gpt2 `transformer_decoder.layers.0.self_attn.proj_q_dense_layer`
/// -> Gpt2Model, GPT2LMHeadModel, TransformerDecoder, ModuleList, TransformerDecoderLayer,
/// MultiheadAttention, Linear. `model_config` is the config's model section (the attention
/// class follows `attention_module`).
///
/// Known for the models the Model Zoo builds as Gpt2Model (gpt2, gpt3, btlm, bloom, llama,
/// mistral, mixtral, mpt, santacoder, starcoder, jais); nullopt for other models and for names
/// those models do not have.
std::optional<std::vector<std::string>> cs_module_classes(const std::string& model, const std::string& module,
                                                          const Node& model_config);

/// "Embedding" or "Linear": the class of the layer `module` is, from the last part of its name
/// (the Model Zoo names its embedding tables *_embeddings, embed, embed_tokens, ...).
std::string cs_leaf_class(const std::string& module);

/// The module holding the input word embedding of `model`, when known ("" otherwise).
std::string cs_input_embedding(const std::string& model);

} // namespace ckpt::lora
