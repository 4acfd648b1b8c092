// SPDX-License-Identifier: Apache-2.0
// The naming phase of a conversion: where each output goes, in the Model Zoo's naming scheme.
#pragma once

#include "convert/conversion.hpp"
#include "core/node.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::convert {

/// The outputs of `convert`. For Hugging Face output the config is inside the checkpoint folder.
struct OutputNames {
    std::filesystem::path checkpoint_dir; // where the checkpoint (file or folder) goes
    std::filesystem::path config_dir;     // where a CS config goes
    std::filesystem::path checkpoint;     // "<stem>_to_<tgt>" folder or "<stem>_to_<tgt>.mdl"
    std::filesystem::path config;         // "<folder>/config.json" or "<stem>_to_<tgt>.yaml"
    /// A compound Hugging Face output: the part folders written into `checkpoint_dir` (then
    /// `checkpoint` and `config` are that directory).
    std::vector<std::string> parts;
};

/// `--output-dir`, or the folder `input` is in.
std::filesystem::path output_dir_for(const Request& r, const std::filesystem::path& input);

/// The names `convert` writes to `tgt` (a resolved format, not cs-current).
OutputNames name_outputs(const Request& r, const std::string& tgt);

/// The names of a compound Hugging Face output: the parts that `config` (is_compound_config)
/// names, each a folder in the output directory, as the Model Zoo writes them.
OutputNames name_compound_outputs(const Request& r, const Node& config);

/// The name `convert-config` writes to `tgt`: "<config stem>_to_<tgt>.json|yaml".
std::filesystem::path name_config_output(const Request& r, const std::string& tgt);

} // namespace ckpt::convert
