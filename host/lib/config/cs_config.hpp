// SPDX-License-Identifier: Apache-2.0
// Helpers on a whole Cerebras config: where its model section is, and the HF→CS output wrapper.
#pragma once

#include "core/node.hpp"

#include <string>

namespace ckpt {

/// The model section of a CS config: `trainer.init.model` when the config has a `trainer`
/// section (cs-2.3+ layout), else `model`. `file` names the config in messages.
/// Throws InputError when the section is missing or not a mapping, and (with the Model Zoo's
/// wording) when `trainer` is a list: "Converting a config with multiple trainer configs is not
/// supported." The pointer is into `config` and valid while `config` is not restructured.
Node* cs_model_section(Node& config, const std::string& file);
const Node* cs_model_section(const Node& config, const std::string& file);

/// True when the config uses the cs-2.3+ trainer layout (has a `trainer` key).
bool cs_config_has_trainer(const Node& config);

/// The CS config the Model Zoo writes for HF→CS: `{"model": model}` and nothing else.
Node make_cs_model_config(Node model);

/// The model-section key under which converters see the muP width multiplier of a cs-2.2-style
/// muP config (BTLM, JAIS), which the CS file keeps outside the model section, at
/// `optimizer.adjust_learning_rate.decoder_kernel`.
inline constexpr const char* kCsDecoderKernelKey = "decoder_kernel";

/// `optimizer.adjust_learning_rate.decoder_kernel` of a whole CS config (under `trainer.init`
/// in the cs-2.3+ layout), or nullptr. The pointer is into `config`.
const Node* cs_decoder_kernel(const Node& config);

/// Moves the model-section key `decoder_kernel` out of `model` and into the whole HF→CS config
/// `config` as `optimizer: {adjust_learning_rate: {decoder_kernel: ...}}`, where the Model Zoo
/// writes it. Does nothing when `model` has no such key.
void lift_cs_decoder_kernel(Node& config, Node& model);

} // namespace ckpt
