// SPDX-License-Identifier: Apache-2.0
// muP -> standard parametrisation folding for CS -> HF (spec/modelzoo-converter.md §5.1): which
// CS configs are muP and the scale each affected CS tensor takes before it is renamed.
#pragma once

#include <ckptconv/cpp/config.hpp>

#include <string>

namespace ckpt::llama {

enum class MupKind {
    none,
    pre_cs23,  // scale_qk_dot_by_d + embeddings_scale + output_logits_scale (cs-2.2 and older)
    post_cs23, // any mup_base_* key set (cs-2.3 and newer)
};

/// Which muP form `cs_model` (a CS model section) uses. Throws when only some of the three
/// pre-2.3 keys are set, as the Model Zoo does.
MupKind mup_kind(const sdk::ConstNode& cs_model);

/// The factor a CS tensor is multiplied by when folding muP into standard parameters (1.0 when
/// it is not affected or the config is not muP). `cs_key` is the CS name, `model.` prefix allowed.
double mup_scale(const sdk::ConstNode& cs_model, const std::string& cs_key);

} // namespace ckpt::llama
