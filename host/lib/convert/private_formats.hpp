// SPDX-License-Identifier: Apache-2.0
// The parts of a conversion that concern plugins' private formats (a ckpt_container's name used
// as --src-fmt or --tgt-fmt) and models whose plugin is not installed.
#pragma once

#include "convert/conversion.hpp"
#include "convert/output_names.hpp"
#include "convert/output_writer.hpp"
#include "formats/checkpoint.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::convert {

/// " or a plugin's format (acme-1, ckpttoy)" for a usage message; empty when there is none.
std::string private_format_names(const host::Registry& registry);

/// Throws PluginError (exit 3) when `model` belongs to a bundled family whose plugin is not
/// loaded, naming the package and the install component that provide it. Returns otherwise.
void missing_plugin_check(const std::string& model);

/// Throws InputError when `src` is a private format and `checkpoint` is not in it.
void check_source_container(const host::Registry& registry, const Checkpoint& checkpoint, const std::string& src,
                            const std::filesystem::path& path);

/// Writes the checkpoint through `container` (its sink) and the config as JSON, each staged
/// under a temporary name (committed together by the caller). prepare_outputs() has created the
/// output folders and checked that no output replaces an input; `inputs` are checked again at commit.
StagedOutputs write_private_output(std::vector<std::filesystem::path> inputs, const ckpt_container& container, const std::vector<NamedTensor>& tensors,
                                   const Node& config, const OutputNames& names, const Request& request);

} // namespace ckpt::convert
