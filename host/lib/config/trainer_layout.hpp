// SPDX-License-Identifier: Apache-2.0
// The cs-2.3 config layout change: a legacy Cerebras config (train_input, eval_input, model,
// optimizer, sparsity, runconfig, wandb) rewritten into the `trainer: {init, fit, ...}` layout the
// way the Model Zoo's convert_legacy_params_to_trainer_params (Release 2.9/2.10) does it.
#pragma once

#include "core/node.hpp"

#include <string>

namespace ckpt {

/// The cs-2.3+ `{"trainer": {...}}` form of a legacy config. A config that already has a
/// `trainer` key is returned unchanged. Keys the mapping has no place for are dropped with the
/// Model Zoo's warning ("Found extra keys in the params: [...]"). `file` names the config in
/// errors (ConversionError for what the Model Zoo refuses: a listener without `listener_type`,
/// conflicting `main_scheduler`s, an unknown scheduler, an optimizer without `optimizer_type`).
Node legacy_to_trainer_config(const Node& legacy, const std::string& file);

} // namespace ckpt
