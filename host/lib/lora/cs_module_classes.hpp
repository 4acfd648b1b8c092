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
/// MultiheadAttention, Linear. `model` is a ckptconv model name (its `-headless` form too);
/// `model_config` is the config's model section (the attention class follows `attention_module`).
///
/// Known for the models the Model Zoo builds as Gpt2Model (gpt2, llama, mistral, ...), as
/// GptjModel (gptj, gpt-neox, falcon, codegen), bert and its heads, roberta, and t5 (the tables
/// and the release they were read from are in docs/mappings-lora-classes.md); nullopt for other
/// models and for names those models do not have.
std::optional<std::vector<std::string>> cs_module_classes(const std::string& model, const std::string& module,
                                                          const Node& model_config);

/// "Embedding" or "Linear": the class of the layer `module` is, from the last part of its name
/// (the Model Zoo names its embedding tables *_embeddings, embed, embed_tokens, ...).
std::string cs_leaf_class(const std::string& module);

/// The modules the Model Zoo ties: with `share_embedding_weights` the input word embedding its fold
/// tool checks (get_input_embeddings) and the output layer; with t5's
/// `share_encoder_decoder_embedding` that input embedding and the encoder's. Module names are
/// without `model.`; "" where the model has no such module.
struct TiedEmbedding {
    std::string input;
    std::string output;
    std::string encoder_input;
};

/// The tied embedding pair of `model` ("" input when unknown or the model has no such pair).
TiedEmbedding cs_tied_embedding(const std::string& model);

} // namespace ckpt::lora
