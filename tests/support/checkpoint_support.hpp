// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share: tensors read through the host library, and the
// `Matched` lines of a --debug run.
#pragma once

#include "core/tensor.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
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

/// The tensor's bytes.
std::vector<std::byte> bytes_of(const TensorData& t);

/// `convert --src-fmt cs-2.3 --tgt-fmt hf` of the `pytorch_model_to_cs-2.3.mdl` and
/// `config_to_cs-2.3.yaml` in `cs_dir` for `model` into `out` (safetensors when asked); the
/// checkpoint lands in `out`/pytorch_model_to_cs-2.3_to_hf.
RunResult convert_cs23_to_hf(const std::string& model, const std::filesystem::path& cs_dir,
                             const std::filesystem::path& out, bool safetensors);

/// `convert --src-fmt hf` of `checkpoint` (its config.json beside it) for `model` into `out`.
RunResult convert_hf(const std::string& model, const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                     const std::string& tgt_fmt = "cs-2.3");

/// A config with one entry changed, for error tests: `base` holds (key, raw value) pairs; `key`
/// gets `value` (appended when `base` lacks it) or, with `remove`, is left out. The YAML form is
/// a CS file (`model:` section), the JSON form an HF config.json.
using ConfigEntries = std::vector<std::pair<std::string, std::string>>;
std::string cs_yaml_with(const ConfigEntries& base, const std::string& key, const std::string& value, bool remove = false);
std::string hf_json_with(const ConfigEntries& base, const std::string& key, const std::string& value, bool remove = false);

/// `convert-config` of `text` for `model`, hf -> cs-2.3 (`src` "hf") or cs-2.3 -> hf: the exit
/// code, stderr and the written file (empty when none). A failed run must leave no output.
struct ConfigOutcome {
    int exit_code = -1;
    std::string err, output;
};
ConfigOutcome convert_config_text(const std::string& model, const std::string& src, const std::string& text);
/// Expects that run to fail with exit code 1 and `ConfigConversionError: <message>`.
void expect_config_refused(const std::string& model, const std::string& src, const std::string& text,
                           const std::string& message);

} // namespace ckpt::test
