// SPDX-License-Identifier: Apache-2.0
// Which model names the bundled plugin families provide, and the package each family ships in:
// data generated from plugins/ at build time, so a model whose plugin is not installed is named.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ckpt::host {

/// A bundled family and how to install it.
struct KnownFamily {
    std::string family;    // plugins/<family>, the plugin file ckptconv_<family>.so
    std::string package;   // the Debian package: ckptconv-plugin-<family>
    std::string component; // the `cmake --install --component` name: plugin_<family>
};

/// `<exe>/../share/ckptconv/known-models.tsv`: one "<model or alias>\t<family>\t<package>" line
/// per name, written at build time from the plugins that were built (packaging/known_models.cmake).
std::filesystem::path known_models_file();

/// The family providing `model` (any case) according to `file`; nullopt when the file is missing
/// or does not list it.
std::optional<KnownFamily> known_family_of(std::string_view model, const std::filesystem::path& file);

} // namespace ckpt::host
