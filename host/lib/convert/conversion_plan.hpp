// SPDX-License-Identifier: Apache-2.0
// The planning phase of a conversion: the source format, the path of converters, the configs and
// the validated tensor plans of every step, computed before anything is written.
#pragma once

#include "convert/conversion.hpp"
#include "convert/dtype_cast.hpp"
#include "formats/checkpoint.hpp"

#include <string>
#include <vector>

namespace ckpt::convert {

inline bool is_hf(const std::string& fmt) { return fmt == "hf"; }
inline bool is_cs(const std::string& fmt) { return host::parse_cs_version(fmt).has_value(); }
/// A format whose config file is the model section itself: hf, and every plugin's private format.
inline bool is_flat(const std::string& fmt) { return !is_cs(fmt); }

/// The registry entry of `--model`; throws ConversionError listing the supported models.
const host::ModelEntry& find_model(const host::Registry& registry, const std::string& model);
/// `--tgt-fmt` with cs-current replaced by the newest known release.
std::string resolve_tgt(const std::string& tgt);
/// Throws UsageError unless `fmt` is hf, cs-X.Y or a loaded plugin's private format.
void check_format(const host::Registry& registry, const std::string& fmt, const char* flag);

/// The configs along a path. files[0] is the source file and sections[0] its model section;
/// files[i+1] / sections[i+1] are what step i produced (for a CS -> CS step, after the release's
/// whole-file changes); inputs[i] is the model section step i converted and planned from (the
/// source section, or its cs-2.3 muP upgrade).
struct ConfigChain {
    std::vector<Node> files, sections, inputs;
};

/// The config `--config` names: a config file, or the config files of a compound checkpoint
/// folder (read_compound_config).
Node read_config_input(const std::filesystem::path& path);

/// Converts the config file `source_file` (read from `r.config`) along `path`.
ConfigChain convert_configs(const std::vector<Step>& path, const std::string& model, const std::string& registry,
                            const Request& r, const Node& source_file);

/// Everything a conversion will write, known before writing starts. The tensors are lazy: they
/// read from `checkpoint`'s files, which stay open as long as the plan lives.
struct ConversionPlan {
    Checkpoint checkpoint;
    std::string src; // the source format, cs-auto resolved
    std::string tgt; // the target format, cs-current resolved
    std::vector<Step> path;
    ConfigChain configs;
    /// Per step, the plan's description (filled for dry runs only).
    std::vector<std::string> step_descriptions;
    /// The model tensors of the output, each step's plan validated.
    std::vector<NamedTensor> tensors;
    /// Finite values --dtype turned into infinity, counted while `tensors` are read.
    std::shared_ptr<CastOverflows> overflows = std::make_shared<CastOverflows>();
    /// CS -> CS only: every non-model section of the input, after the release steps' fixes.
    Node cs_root;
    /// The config file to write (with `torch_dtype` for Hugging Face output).
    Node out_config;
    /// The plugin container that writes `tgt` when it is a private format, else null.
    const ckpt_container* tgt_container = nullptr;
};

/// Opens the checkpoint, finds the path, converts the configs and plans (and validates) every
/// step. Reads inputs; writes nothing.
ConversionPlan plan_conversion(const host::Registry& registry, const std::vector<host::PluginRecord>& plugins,
                               const Request& request);

} // namespace ckpt::convert
