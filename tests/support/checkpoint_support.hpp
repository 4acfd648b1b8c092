// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share: tensors read through the host library, and the
// `Matched` lines of a --debug run.
#pragma once

#include "core/tensor.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test {

/// The model tensors of a checkpoint: a Hugging Face state dict, or a Cerebras file's `model`.
std::map<std::string, TensorPtr> model_tensors(const std::filesystem::path& file);

/// Empty when both maps hold the same names with equal bytes; else one line per difference.
std::string compare(const std::map<std::string, TensorPtr>& a, const std::map<std::string, TensorPtr>& b);

/// Every `Matched <old> -> <new> action: <name>` line in `text` (from the word `Matched` on).
std::vector<std::string> matched_lines(const std::string& text);

/// Runs `ckptconv` with the plugins of this build only.
RunResult run_bundled(const std::vector<std::string>& args);

/// True when every byte of the tensor is zero.
bool all_zero(const TensorData& t);

} // namespace ckpt::test
