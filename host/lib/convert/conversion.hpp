// SPDX-License-Identifier: Apache-2.0
// One conversion as the user asks for it: find the path of converters from the source format to
// the target format, convert the config step by step, plan the checkpoint step by step, validate,
// then stream the output under a temporary name and move it into place (design.md §3).
#pragma once

#include "core/dtype.hpp"
#include "core/node.hpp"
#include "plugins/registry.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::convert {

/// One edge of a conversion path, in the direction it is used.
struct Step {
    const host::ConverterEntry* converter = nullptr;
    std::string src;
    std::string tgt;
    int direction = 0; // 0: side 0 -> side 1
};

/// The shortest chain of converters (model-specific edges, then the generic release steps) that
/// takes `src` to `tgt`; among equally short chains the one met first in registry order. Throws
/// ConversionError ("Cannot convert <model> from <src> to <tgt>", then what is possible).
std::vector<Step> find_path(const host::Registry& registry, const host::ModelEntry& model,
                            const std::string& src, const std::string& tgt);

/// "hf -> cs-2.3 (model converter), cs-2.3 -> cs-2.4 (generic release step)".
std::string describe_path(const std::vector<Step>& path);

/// The Model Zoo's output base name: every trailing alphabetic dot-suffix removed
/// ("pytorch_model.bin.index.json" -> "pytorch_model", "checkpoint_1.7.mdl" -> "checkpoint_1.7").
/// Unlike the Model Zoo, a name that is only suffixes keeps its first part ("noext" stays).
std::string remove_file_extension(const std::string& filename);

/// Everything `convert` and `convert-config` take from the command line.
struct Request {
    std::string model;
    std::string src_fmt; // may be cs-auto (convert only)
    std::string tgt_fmt; // may be cs-current
    std::filesystem::path checkpoint;
    std::filesystem::path config;
    std::optional<std::filesystem::path> output_dir;
    uint64_t hf_shard_size = 10'000'000'000;
    bool export_safetensors = false;
    bool drop_unmatched_keys = false;
    bool debug = false;
    bool dry_run = false;
    bool force = false;
    bool progress = false;
    /// Hugging Face PEFT LoRA adapter directories merged into an hf source before the first step.
    std::vector<std::filesystem::path> lora_adapters;
    /// --dtype: floating-point weights written in this dtype (convert only).
    std::optional<DType> dtype;
    /// Base name of the outputs instead of the checkpoint's and the config's own (a model folder
    /// given as input names its outputs after the folder).
    std::optional<std::string> output_stem;
};

struct Result {
    std::filesystem::path checkpoint; // empty for convert-config and dry runs
    std::filesystem::path config;
    std::string path;                 // describe_path() of the conversion (convert only)
    size_t tensors = 0;               // tensor names written (convert only)
};

/// `convert`: config and checkpoint. Prints nothing to stdout except the dry-run plan; the CLI
/// prints the "saved to" lines.
Result convert_checkpoint(const host::Registry& registry, const std::vector<host::PluginRecord>& plugins,
                          const Request& request);

/// `convert-config`: the config alone.
Result convert_config_file(const host::Registry& registry, const Request& request);

} // namespace ckpt::convert
