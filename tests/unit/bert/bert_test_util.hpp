// SPDX-License-Identifier: Apache-2.0
// Helpers for the bert plugin tests: the CLI with only the plugins built here, fixture paths,
// and checkpoints read through the host library for tensor-level checks.
#pragma once

#include "core/tensor.hpp"
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test::bert {

namespace fs = std::filesystem;

/// Runs ckptconv with only the plugins built in this tree.
RunResult cli(const std::vector<std::string>& args);
/// `convert --model M --src-fmt S --tgt-fmt T --config C CKPT --output-dir OUT [extra...]`.
RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, std::vector<std::string> extra = {});
/// `convert-config --model M --src-fmt S --tgt-fmt T CONFIG --output-dir OUT`.
RunResult convert_config(const std::string& model, const std::string& src, const std::string& tgt,
                         const fs::path& config, const fs::path& out);

/// A Model Zoo reference under tests/data/cs-ref/<family>/.
fs::path ref(const std::string& family, const std::string& rel);
/// A Hugging Face fixture under tests/data/hf/<family>/.
fs::path hf(const std::string& family, const std::string& rel);

/// `ckptconv diff A B` succeeded (exit 0); the output otherwise, for the failure message.
::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b);

/// The reference HF config.json text plus what ckptconv adds for current transformers
/// (design.md §5): `architectures`, and `torch_dtype` when tensors were written.
std::string expected_hf_config(const std::string& reference, const std::string& arch, const char* torch_dtype);

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;
/// Writes a safetensors file (and its folder) of float32 tensors whose values differ per tensor
/// and element.
void write_safetensors(const fs::path& file, const Shapes& tensors);


} // namespace ckpt::test::bert
