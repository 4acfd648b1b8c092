// SPDX-License-Identifier: Apache-2.0
// Finds plugin libraries, loads them with Boost.DLL and checks their ABI before trusting them.
#pragma once

#include <ckptconv/plugin.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::host {

/// Host-owned copies of a plugin's descriptor structs (see abi_struct.hpp); defined in
/// plugin_loader.cpp.
struct DescriptorCopy;

/// What happened to one file found in a plugin directory.
struct PluginRecord {
    std::filesystem::path file;
    bool loaded = false;
    /// Why it was rejected (empty when loaded).
    std::string reason;
    /// The ABI version the plugin declared; 0 when it never told us.
    uint32_t abi_version = 0;
    /// Warnings about a loaded plugin (e.g. a model name another plugin already provides).
    std::vector<std::string> warnings;
    /// The descriptor, valid for the whole run once loaded: a host-sized copy of the plugin's, every
    /// struct in it (models, converters, containers) copied too, so fields of a later minor than
    /// the plugin's read as zero and nothing past a plugin's struct_size is ever read.
    const ckpt_plugin* descriptor = nullptr;
    std::shared_ptr<const DescriptorCopy> copies;
    /// Keeps the library mapped; never released before exit.
    std::shared_ptr<void> library;
};

/// The directories to search, in order: `cli_dirs`, then CKPT_PLUGIN_PATH (':'-separated), then
/// `<exe>/../lib/ckptconv/plugins` (replaced by CKPT_PLUGIN_DEFAULT_DIR when that is set; dropped
/// when it is set but empty). Missing directories are kept (and reported as empty).
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::filesystem::path>& cli_dirs);

/// Loads every plugin file (`ckptconv_*.so`) in `dirs`, sorted by name within each directory; the same
/// file reached twice is loaded once. Never throws for a bad plugin: it is recorded as rejected.
/// A plugin whose container (format) name an earlier plugin already registered is rejected.
std::vector<PluginRecord> load_plugins(const std::vector<std::filesystem::path>& dirs);

/// Loads one library file (exposed for tests).
PluginRecord load_plugin(const std::filesystem::path& file);

/// Why `name` cannot be a plugin's format name (empty when it can): names are lowercase
/// [a-z0-9._-], start with a letter or digit, and never take a built-in name (hf, cs-*).
std::string check_format_name(std::string_view name);

/// "1.0" for a CKPT_MAKE_VERSION value.
std::string format_abi(uint32_t version);

} // namespace ckpt::host
