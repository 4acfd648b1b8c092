// SPDX-License-Identifier: Apache-2.0
// The llama / mistral tensor shapes a Hugging Face config implies, checked before converting.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/plan.hpp>

#include <vector>

namespace ckpt::llama {

/// Checks the Hugging Face side of a conversion (the source tensors on HF -> CS, the planned
/// outputs on CS -> HF) against the sizes `hf_config` gives; `from` is the side converted from.
/// Throws sdk::Error(CKPT_ERR_BAD_INPUT) listing the contradictions.
void check_model_shapes(sdk::ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

} // namespace ckpt::llama
