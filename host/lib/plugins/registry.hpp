// SPDX-License-Identifier: Apache-2.0
// The model registry: model names and aliases from loaded plugins, their conversion edges, and
// the generic CS -> CS release steps that need no model-specific change.
#pragma once

#include "plugins/plugin_loader.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ckpt::host {

/// A Cerebras release as an integer pair (cs-2.10 sorts after cs-2.9).
struct CsVersion {
    int major = 0;
    int minor = 0;
    bool operator<(const CsVersion& o) const { return std::pair(major, minor) < std::pair(o.major, o.minor); }
    bool operator==(const CsVersion& o) const { return major == o.major && minor == o.minor; }
    bool operator<=(const CsVersion& o) const { return !(o < *this); }
    std::string name() const;
};

/// Parses "cs-X.Y"; nullopt for anything else ("hf", "cs-auto").
std::optional<CsVersion> parse_cs_version(std::string_view fmt);

/// Every CS release ckptconv knows, oldest first; the last is what `cs-current` names.
const std::vector<CsVersion>& known_cs_releases();

/// The last release ckptconv converts a model to, where that is not the newest: `version`, and
/// `why` as a sentence for the error (the Model Zoo removed MPT after 2.3). Its plugin says so
/// (ckpt_model.last_release, ABI 1.2).
struct LastCsRelease {
    CsVersion version;
    std::string why;
};

/// One conversion edge, usable in both directions.
struct ConverterEntry {
    std::vector<std::string> side[2];
    std::string note;
    /// Null for a generic release step (copy every key, update metadata and config).
    const ckpt_converter* descriptor = nullptr;
    /// The name of the plugin the converter comes from (empty for a generic step).
    std::string plugin;
    bool fallback() const { return descriptor == nullptr; }
    /// 0 when `src` is on side 0 and `tgt` on side 1, 1 for the reverse, -1 when not supported.
    int direction(std::string_view src, std::string_view tgt) const;
};

struct ModelEntry {
    std::string name;
    std::vector<std::string> aliases;
    /// Model Zoo registry names (the cs-2.4+ config `name`): the model's, and one per alias
    /// (each defaults to the model's, which defaults to `name`). From ABI 1.1 plugins.
    std::string registry_name;
    std::vector<std::string> alias_registry_names;
    /// The model's last CS release, from ABI 1.2 plugins; nullopt for a model every release since
    /// its first has (no generic release step is offered above it).
    std::optional<LastCsRelease> last_release;
    std::vector<ConverterEntry> converters;
    /// The generic release steps this model may use (see Registry::generic_steps).
    std::vector<ConverterEntry> generic;
    const PluginRecord* plugin = nullptr;
};

/// A private checkpoint format a plugin registered (a ckpt_container): its name is a format name
/// for --src-fmt and --tgt-fmt and in converters' format groups.
struct FormatEntry {
    std::string name;
    const ckpt_container* container = nullptr;
    const PluginRecord* plugin = nullptr;
};

class Registry {
public:
    /// Builds the registry from loaded plugins, in order. A model name or alias already taken is
    /// ignored and a warning is added to the later plugin's record.
    static Registry build(std::vector<PluginRecord>& records);

    /// Looks up a model name or alias, ignoring case. Null when unknown.
    const ModelEntry* find(std::string_view name) const;
    /// The Model Zoo registry name for a model name or alias typed in any case; empty when unknown.
    std::string registry_name(std::string_view name) const;
    /// The registered spelling of a model name or alias typed in any case; empty when unknown.
    std::string spelling(std::string_view name) const;
    /// Every name a user may type (models and aliases), sorted.
    std::vector<std::string> names() const;
    /// The rows `list` prints for a model: its converters, then its generic release steps.
    std::vector<ConverterEntry> list_rows(const ModelEntry& model) const;
    /// The generic CS -> CS release steps (copy every key, update metadata and config) a model
    /// with these converters may use: those at or above its oldest CS release (never below
    /// cs-1.8) that none of its converters already covers — the Model Zoo's fallback rule,
    /// extended to every release up to cs-2.9 — and none past `last`, a removed model's last release.
    static std::vector<ConverterEntry> generic_steps(const std::vector<ConverterEntry>& converters,
                                                     std::optional<CsVersion> last = std::nullopt);
    const std::vector<ModelEntry>& models() const { return m_models; }
    /// The private format named exactly `name`; null for built-in and unknown names.
    const FormatEntry* private_format(std::string_view name) const;
    const std::vector<FormatEntry>& private_formats() const { return m_formats; }

private:
    std::vector<ModelEntry> m_models;
    std::vector<FormatEntry> m_formats;
    struct Name {
        std::string lower;    // lookup key
        std::string spelling; // as the plugin registered it
        size_t model;
    };
    std::vector<Name> m_names;
};

} // namespace ckpt::host
