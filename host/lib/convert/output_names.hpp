// SPDX-License-Identifier: Apache-2.0
// The naming phase of a conversion: where each output goes, in the Model Zoo's naming scheme.
#pragma once

#include "convert/conversion.hpp"

#include <filesystem>
#include <string>

namespace ckpt::convert {

/// The outputs of `convert`. For Hugging Face output the config is inside the checkpoint folder.
struct OutputNames {
    std::filesystem::path checkpoint_dir; // where the checkpoint (file or folder) goes
    std::filesystem::path config_dir;     // where a CS config goes
    std::filesystem::path checkpoint;     // "<stem>_to_<tgt>" folder or "<stem>_to_<tgt>.mdl"
    std::filesystem::path config;         // "<folder>/config.json" or "<stem>_to_<tgt>.yaml"
};

/// `--output-dir`, or the folder `input` is in.
std::filesystem::path output_dir_for(const Request& r, const std::filesystem::path& input);

/// The names `convert` writes to `tgt` (a resolved format, not cs-current).
OutputNames name_outputs(const Request& r, const std::string& tgt);

/// The name `convert-config` writes to `tgt`: "<config stem>_to_<tgt>.json|yaml".
std::filesystem::path name_config_output(const Request& r, const std::string& tgt);

} // namespace ckpt::convert
