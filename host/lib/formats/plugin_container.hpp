// SPDX-License-Identifier: Apache-2.0
// Private checkpoint formats provided by plugins (ckpt_container), read through the same
// Checkpoint type as the built-in formats.
#pragma once

#include "formats/checkpoint.hpp"
#include "plugins/plugin_loader.hpp"

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace ckpt {

/// The first plugin container that identifies `head` (the file's first bytes) as its format.
const ckpt_container* identify_plugin_container(const std::vector<host::PluginRecord>& plugins,
                                                std::string_view head, const std::filesystem::path& path);

/// Opens `path` through a plugin container. Tensors read through the plugin's source (zero-copy
/// when it can map); the source is closed when the last tensor is gone. Throws InputError with the
/// plugin's message when it refuses.
Checkpoint read_plugin_container(const ckpt_container& container, const std::filesystem::path& path);

/// Writes `tensors` to `path` through the container's sink (its open_sink), in order, each in
/// chunks of ascending offsets, then commits. On any failure the sink is aborted (the plugin
/// removes what it wrote) and the error is rethrown; callers write to an AtomicOutput's temporary
/// path so the target appears only when complete. Throws ConversionError when the container has
/// no writer, PluginCallError when the plugin refuses.
void write_plugin_container(const ckpt_container& container, const std::filesystem::path& path,
                            const std::vector<NamedTensor>& tensors);

} // namespace ckpt
