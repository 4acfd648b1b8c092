// SPDX-License-Identifier: Apache-2.0
// Helpers for the gpt2 plugin tests: the CLI with only the bundled plugins, fixture paths, and
// checkpoints read through the host library for tensor-level checks.
#pragma once

#include "core/tensor.hpp"
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test::gpt2 {

namespace fs = std::filesystem;

/// Runs ckptconv with only the plugins built in this tree.
RunResult cli(const std::vector<std::string>& args);
/// A Model Zoo reference file under tests/data/cs-ref/gpt2/.
fs::path ref(const std::string& rel);
/// A Hugging Face fixture under tests/data/hf/gpt2/.
fs::path hf(const std::string& rel);

/// Converts the bin fixture hf -> cs-2.3 into `dir` (pytorch_model_to_cs-2.3.mdl and
/// config_to_cs-2.3.yaml); returns the YAML's text, or "" after a test failure.
std::string fixture_to_cs23(const fs::path& dir);

/// A float32 tensor's values.
std::vector<float> floats(const TensorPtr& t);

/// Writes a safetensors file of zero-filled float32 tensors with the given names and shapes.
void write_safetensors(const fs::path& file, const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors);

/// `ckptconv diff A B` succeeded (exit 0); the output otherwise, for the failure message.
::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b);

} // namespace ckpt::test::gpt2
