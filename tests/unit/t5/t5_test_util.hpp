// SPDX-License-Identifier: Apache-2.0
// Helpers for the t5 plugin tests: the CLI with this build's plugins, checkpoint comparison with
// `ckptconv diff`, tensors and configs read through the host library, small files written by hand.
#pragma once

#include "core/node.hpp"
#include "checkpoint_support.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test::t5 {

namespace fs = std::filesystem;

/// Runs `ckptconv` with the plugins of this build only.
RunResult cli(const std::vector<std::string>& args);

/// `ckptconv convert --model <model> --src-fmt <src> --tgt-fmt <tgt> --config <config> <ckpt>
/// --output-dir <out> <extra...>`.
RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, const std::vector<std::string>& extra = {});

/// `ckptconv diff a b` exit code (0: same tensors); reports the CLI output on a difference.
int diff(const fs::path& a, const fs::path& b);

/// tests/data/hf/t5/<rel>
fs::path hf(const std::string& rel);
/// tests/data/cs-ref/t5/<rel>
fs::path ref(const std::string& rel);


/// A config file (JSON or YAML) as a host tree.
Node config(const fs::path& p);

/// Float32 tensors of a checkpoint (HF state dict or the `model` map of a CS file), by name.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> values;
};
std::map<std::string, Tensor> tensors(const fs::path& p);

/// Writes a float32 safetensors file.
void write_safetensors(const fs::path& p, const std::map<std::string, Tensor>& tensors);

/// `text` (a YAML model section) with `key: value` replacing the key's line, or appended.
std::string with_yaml_key(const std::string& text, const std::string& key, const std::string& value);
/// `text` (an HF config.json) with `"key": value` replacing the key's entry, or appended.
std::string with_json_key(const std::string& text, const std::string& key, const std::string& value);

} // namespace ckpt::test::t5
