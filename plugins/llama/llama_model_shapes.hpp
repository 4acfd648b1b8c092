// SPDX-License-Identifier: Apache-2.0
// The llama / mistral tensor shapes a Hugging Face config implies, checked before converting.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/model_shapes.hpp>
#include <ckptconv/cpp/plan.hpp>

#include <cstdint>
#include <vector>

namespace ckpt::llama {

/// The sizes of a LlamaModel config (0 where the config's value is bad).
struct LlamaSizes {
    int64_t hidden_size;
    int64_t layers;
};

/// Adds the LlamaModel shapes `hf_config` implies to `s`: embeddings, attention, norms and head,
/// and the dense feed-forward block when `dense_mlp` (Mixtral has experts in its place).
LlamaSizes expect_llama_shapes(sdk::ModelShapes& s, sdk::ConstNode hf_config, bool dense_mlp);

/// Checks the Hugging Face side of a conversion (the source tensors on HF -> CS, the planned
/// outputs on CS -> HF) against the sizes `hf_config` gives; `from` is the side converted from.
/// Throws sdk::Error(CKPT_ERR_BAD_INPUT) listing the contradictions.
void check_model_shapes(sdk::ConstNode hf_config, int from, const std::vector<sdk::TensorDesc>& hf_tensors);

} // namespace ckpt::llama
