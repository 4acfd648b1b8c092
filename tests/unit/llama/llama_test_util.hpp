// SPDX-License-Identifier: Apache-2.0
// Helpers for the llama plugin tests: running the CLI with only the bundled plugins, comparing
// checkpoints with `ckptconv diff`, reading tensors and configs through the host library.
#pragma once

#include "core/node.hpp"
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test::llama {

namespace fs = std::filesystem;

/// Runs `ckptconv` with the plugins of this build only.
RunResult cli(const std::vector<std::string>& args);

/// `ckptconv diff a b` exit code (0: same tensors).
int diff(const fs::path& a, const fs::path& b);

/// The single file under `dir` whose name ends with `suffix`; fails the test when not exactly one.
fs::path only_file(const fs::path& dir, const std::string& suffix);

/// tests/data/hf/<family>/<rel>
fs::path hf(const std::string& family, const std::string& rel);
/// tests/data/cs-ref/<family>/<rel>
fs::path ref(const std::string& family, const std::string& rel);


/// A config file (JSON or YAML) as a host tree.
Node config(const fs::path& p);

/// Float32 tensors of a checkpoint (HF state dict or the `model` map of a CS file), by name.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> values;
};
std::map<std::string, Tensor> tensors(const fs::path& p);

/// Writes a float32 safetensors file.
void write_safetensors(const fs::path& p, const std::vector<std::pair<std::string, Tensor>>& tensors);

/// A tensor of the given shape whose values are start, start+1, ... (distinct, so any misplaced
/// row shows).
Tensor arange(std::vector<int64_t> shape, float start);

} // namespace ckpt::test::llama
