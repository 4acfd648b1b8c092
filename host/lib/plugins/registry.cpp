// SPDX-License-Identifier: Apache-2.0
// The model registry built from loaded plugins.
#include "plugins/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>

namespace ckpt::host {

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string view(ckpt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

bool contains(const std::vector<std::string>& v, std::string_view s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

std::string CsVersion::name() const { return fmt::format("cs-{}.{}", major, minor); }

std::optional<CsVersion> parse_cs_version(std::string_view fmt)
{
    if (fmt.substr(0, 3) != "cs-")
        return std::nullopt;
    std::string_view rest = fmt.substr(3);
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 >= rest.size())
        return std::nullopt;
    CsVersion v;
    auto r1 = std::from_chars(rest.data(), rest.data() + dot, v.major);
    auto r2 = std::from_chars(rest.data() + dot + 1, rest.data() + rest.size(), v.minor);
    if (r1.ec != std::errc() || r1.ptr != rest.data() + dot || r2.ec != std::errc() ||
        r2.ptr != rest.data() + rest.size())
        return std::nullopt;
    return v;
}

const std::vector<CsVersion>& known_cs_releases()
{
    static const std::vector<CsVersion> releases = {
        {1, 6}, {1, 7}, {1, 8}, {1, 9}, {2, 0}, {2, 1}, {2, 2}, {2, 3}, {2, 4}, {2, 5}, {2, 6}, {2, 7}, {2, 8}, {2, 9},
    };
    return releases;
}

int ConverterEntry::direction(std::string_view src, std::string_view tgt) const
{
    if (contains(side[0], src) && contains(side[1], tgt))
        return 0;
    if (contains(side[1], src) && contains(side[0], tgt))
        return 1;
    return -1;
}

Registry Registry::build(std::vector<PluginRecord>& records)
{
    Registry reg;
    for (auto& rec : records) {
        if (!rec.loaded)
            continue;
        const ckpt_plugin* d = rec.descriptor;
        for (size_t i = 0; i < d->container_count; ++i)
            reg.m_formats.push_back(FormatEntry{view(d->containers[i]->name), d->containers[i], &rec});
        for (size_t i = 0; i < d->model_count; ++i) {
            const ckpt_model* m = d->models[i];
            ModelEntry e;
            e.name = view(m->name);
            e.plugin = &rec;
            for (size_t j = 0; j < m->alias_count; ++j)
                e.aliases.push_back(view(m->aliases[j]));
            // ABI 1.1 fields: the loader's copy holds them zeroed for a 1.0 plugin.
            e.registry_name = view(m->registry_name);
            if (e.registry_name.empty())
                e.registry_name = e.name;
            for (size_t j = 0; j < m->alias_count; ++j) {
                std::string r = m->alias_registry_names ? view(m->alias_registry_names[j]) : "";
                e.alias_registry_names.push_back(r.empty() ? e.registry_name : r);
            }
            // ABI 1.2 fields, zeroed for an older plugin; the loader refused a malformed release.
            if (auto last = parse_cs_version(view(m->last_release)))
                e.last_release = LastCsRelease{*last, view(m->last_release_reason)};
            for (size_t j = 0; j < m->converter_count; ++j) {
                const ckpt_converter* c = m->converters[j];
                ConverterEntry ce;
                for (int s = 0; s < 2; ++s)
                    for (size_t k = 0; k < c->formats[s].count; ++k)
                        ce.side[s].push_back(view(c->formats[s].formats[k]));
                ce.note = view(c->note);
                ce.descriptor = c;
                ce.plugin = view(d->name);
                e.converters.push_back(std::move(ce));
            }
            std::vector<std::string> wanted{e.name};
            wanted.insert(wanted.end(), e.aliases.begin(), e.aliases.end());
            std::vector<std::string> free_names;
            for (const auto& n : wanted) {
                auto clash = std::find_if(reg.m_names.begin(), reg.m_names.end(),
                                          [&](const Name& p) { return p.lower == lower(n); });
                if (clash != reg.m_names.end()) {
                    const ModelEntry& owner = reg.m_models[clash->model];
                    rec.warnings.push_back(fmt::format("model name '{}' is already provided by {}; ignored here",
                                                       n, owner.plugin->file.string()));
                } else {
                    free_names.push_back(n);
                }
            }
            if (free_names.empty())
                continue;
            e.generic = generic_steps(e.converters, e.last_release ? std::optional<CsVersion>(e.last_release->version)
                                                                   : std::nullopt);
            const size_t index = reg.m_models.size();
            if (!contains(free_names, e.name)) {
                e.name = free_names.front();
            }
            std::vector<std::string> kept, kept_registry;
            for (size_t j = 0; j < e.aliases.size(); ++j)
                if (contains(free_names, e.aliases[j]) && e.aliases[j] != e.name) {
                    kept.push_back(e.aliases[j]);
                    kept_registry.push_back(e.alias_registry_names[j]);
                }
            e.aliases = std::move(kept);
            e.alias_registry_names = std::move(kept_registry);
            for (const auto& n : free_names)
                reg.m_names.push_back(Name{lower(n), n, index});
            reg.m_models.push_back(std::move(e));
        }
    }
    return reg;
}

const ModelEntry* Registry::find(std::string_view name) const
{
    const std::string key = lower(name);
    for (const auto& n : m_names)
        if (n.lower == key)
            return &m_models[n.model];
    return nullptr;
}

std::string Registry::registry_name(std::string_view name) const
{
    const std::string key = lower(name);
    for (const auto& m : m_models) {
        if (lower(m.name) == key)
            return m.registry_name;
        for (size_t j = 0; j < m.aliases.size(); ++j)
            if (lower(m.aliases[j]) == key)
                return m.alias_registry_names[j];
    }
    return {};
}

const FormatEntry* Registry::private_format(std::string_view name) const
{
    for (const auto& f : m_formats)
        if (f.name == name)
            return &f;
    return nullptr;
}

std::string Registry::spelling(std::string_view name) const
{
    const std::string key = lower(name);
    for (const auto& n : m_names)
        if (n.lower == key)
            return n.spelling;
    return {};
}

std::vector<std::string> Registry::names() const
{
    std::vector<std::string> out;
    for (const auto& m : m_models) {
        out.push_back(m.name);
        out.insert(out.end(), m.aliases.begin(), m.aliases.end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<ConverterEntry> Registry::list_rows(const ModelEntry& model) const
{
    std::vector<ConverterEntry> rows = model.converters;
    rows.insert(rows.end(), model.generic.begin(), model.generic.end());
    return rows;
}

std::vector<ConverterEntry> Registry::generic_steps(const std::vector<ConverterEntry>& converters,
                                                    std::optional<CsVersion> last)
{
    std::vector<ConverterEntry> out;
    std::optional<CsVersion> oldest;
    for (const auto& c : converters)
        for (const auto& side : c.side)
            for (const auto& f : side)
                if (auto v = parse_cs_version(f); v && (!oldest || *v < *oldest))
                    oldest = v;
    if (!oldest)
        return out;
    const auto& rel = known_cs_releases();
    for (size_t i = 0; i + 1 < rel.size(); ++i) {
        if (rel[i] < *oldest || rel[i] < CsVersion{1, 8} || (last && *last < rel[i + 1]))
            continue;
        const std::string a = rel[i].name(), b = rel[i + 1].name();
        bool covered = std::any_of(converters.begin(), converters.end(),
                                   [&](const ConverterEntry& c) { return c.direction(a, b) >= 0; });
        if (covered)
            continue;
        ConverterEntry step;
        step.side[0] = {a};
        step.side[1] = {b};
        out.push_back(std::move(step));
    }
    return out;
}

} // namespace ckpt::host
