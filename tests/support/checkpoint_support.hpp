// SPDX-License-Identifier: Apache-2.0
// Helpers the family-plugin tests share: the CLI with this build's plugins, fixture and reference
// paths, checkpoints compared with `ckptconv diff` or read through the host library, small
// configs and checkpoints written by hand, and the `Matched` lines of a --debug run.
#pragma once

#include "core/node.hpp"
#include "core/tensor.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::test {

namespace fs = std::filesystem;

/// Runs `ckptconv` with the plugins of this build only.
RunResult cli(const std::vector<std::string>& args);

/// `convert --model M --src-fmt S --tgt-fmt T --config C CKPT --output-dir OUT [extra...]`.
RunResult convert(const std::string& model, const std::string& src, const std::string& tgt, const fs::path& config,
                  const fs::path& ckpt, const fs::path& out, const std::vector<std::string>& extra = {});

/// `convert-config --model M --src-fmt S --tgt-fmt T --config C --output-dir OUT`.
RunResult convert_config(const std::string& model, const std::string& src, const std::string& tgt,
                         const fs::path& config, const fs::path& out);

/// tests/data/hf/<family>/<rel>: a Hugging Face fixture.
fs::path hf(const std::string& family, const std::string& rel);
/// tests/data/cs-ref/<family>/<rel>: a Model Zoo reference.
fs::path ref(const std::string& family, const std::string& rel);

/// `ckptconv diff A B` succeeded (exit 0: the same tensors); its output otherwise.
::testing::AssertionResult same_checkpoint(const fs::path& a, const fs::path& b);

/// The single file under `dir` (recursively) whose name ends with `suffix`; fails the test when
/// there is not exactly one.
fs::path only_file(const fs::path& dir, const std::string& suffix);

/// A config file (JSON or YAML) as a host tree.
Node config(const fs::path& p);

/// The HF config `ours` equals `reference` but for what ckptconv adds for current transformers
/// (design.md §5): `architectures` = [hf_class] and, when given, `torch_dtype`. Key for key; and
/// byte for byte (our keys appended) when the reference has neither key.
::testing::AssertionResult same_hf_config(const fs::path& ours, const fs::path& reference, const std::string& hf_class,
                                          const char* torch_dtype = "float32");

/// The config `ours` (YAML or JSON) equals `reference` key for key once the space-separated
/// dotted paths in `skip` (documented departures from the Model Zoo, e.g.
/// "optimizer.adjust_learning_rate.decoder_kernel") are left out of both; a map the removal
/// empties goes too. For an HF config, what same_hf_config allows is allowed as well.
::testing::AssertionResult same_config_except(const fs::path& ours, const fs::path& reference, const std::string& skip,
                                              const char* hf_class = nullptr, const char* torch_dtype = nullptr);

/// The model tensors of a checkpoint: a Hugging Face state dict, or a Cerebras file's `model`.
std::map<std::string, TensorPtr> model_tensors(const fs::path& file);

/// Empty when both maps hold the same names with equal bytes; else one line per difference.
std::string compare(const std::map<std::string, TensorPtr>& a, const std::map<std::string, TensorPtr>& b);

/// A float32 tensor's values.
std::vector<float> floats(const TensorPtr& t);

/// A float32 tensor held by value.
struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> values;
};
/// The float32 model tensors of a checkpoint (others are skipped), by name.
std::map<std::string, Tensor> tensors(const fs::path& p);
/// A tensor of the given shape whose values are start, start+1, ... (distinct, so any misplaced
/// row shows).
Tensor arange(std::vector<int64_t> shape, float start);
/// Writes a float32 safetensors file with the project's writer (replacing `p`, creating its folder).
void write_f32_safetensors(const fs::path& p, const std::vector<std::pair<std::string, Tensor>>& tensors);
using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;
/// Writes a float32 safetensors file of the given shapes whose values differ per tensor and element.
void write_patterned_safetensors(const fs::path& p, const Shapes& shapes);

/// `text` (a YAML model section) with `key: value` replacing the key's line, or appended.
std::string with_yaml_key(const std::string& text, const std::string& key, const std::string& value);
/// `text` (an HF config.json) with `"key": value` replacing the key's entry (a whole `{...}` map
/// entry when `value` is a map too), or appended.
std::string with_json_key(const std::string& text, const std::string& key, const std::string& value);

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

/// A config the Model Zoo refuses: an HF config.json (`src` "hf") or a CS YAML (`src` "cs") with
/// `key` set to `value` (JSON or YAML text), and the ConfigConversionError it gives.
struct ConfigRefusal {
    const char* src;
    const char* key;
    const char* value;
    const char* message;
};
/// expect_config_refused for each of `cases`, made from `hf_json` or `cs_yaml`.
void expect_config_refusals(const std::string& model, const std::string& hf_json, const std::string& cs_yaml,
                            const std::vector<ConfigRefusal>& cases);

} // namespace ckpt::test
