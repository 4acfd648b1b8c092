// SPDX-License-Identifier: Apache-2.0
// What every Cerebras release step does to a whole config besides converting its model section:
// the Model Zoo's BaseConfigConverter_CS_CS pre/post-processing (runconfig clean-ups, sparsity and
// optimizer renames, the trainer layout, the cs-2.4 model `name`, the cs-2.3 muP keys).
#pragma once

#include "core/node.hpp"

#include <string>

namespace ckpt {

/// Before a CS `src` -> CS `tgt` model step that upgrades across cs-2.3: a cs-2.2 muP model section (`scale_qk_dot_by_d`,
/// `embeddings_scale` and `output_logits_scale` all set) becomes the cs-2.3 muP keys
/// (`mup_base_hidden_size`, `mup_base_filter_size`, `output_logits_alpha`, unscaled initializers),
/// with the width multiplier taken from `optimizer.adjust_learning_rate.decoder_kernel`, which is
/// removed from `config`. `model` is the section the step will convert (changed in place).
/// Returns false, changing nothing, for a config that is not cs-2.2 muP. Throws ConversionError
/// for a partial muP config or a missing/invalid multiplier, naming `file`.
bool upgrade_cs22_mup_config(Node& config, Node& model, const std::string& src, const std::string& tgt,
                             const std::string& file);

/// After a CS `src` -> CS `tgt` model step: `config` is the whole file with the converted model
/// section in place. Drops `cerebras`; from cs-1.9/2.0 removes deprecated runconfig keys and
/// `csconfig`; from cs-2.1 rewrites `use_cs_grad_accum` and the sparsity section; cs-2.0 -> 2.1
/// renames optimizer and LR-scheduler parameters to their PyTorch names, moves
/// `model.precision_opt_level` to runconfig and `use_bfloat16` to `fp16_type`; cs-2.2 -> 2.3
/// moves to the trainer layout; cs-2.3 -> 2.4 adds the model's registry `name`. An upgrade over
/// several releases applies each release's changes in turn.
Node finish_cs_release_step(Node config, const std::string& src, const std::string& tgt,
                            const std::string& registry_name, const std::string& file);

} // namespace ckpt
