// SPDX-License-Identifier: Apache-2.0
// Finds plugin libraries, loads them with Boost.DLL and checks their ABI before trusting them.
#include "plugins/plugin_loader.hpp"

#include "plugins/abi_struct.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"

#include <fmt/format.h>

#include <cstddef>

#define BOOST_DLL_USE_STD_FS 1
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <exception>
#include <set>

namespace ckpt::host {

namespace fs = std::filesystem;

std::string format_abi(uint32_t v)
{
    return fmt::format("{}.{}", CKPT_VERSION_MAJOR(v), CKPT_VERSION_MINOR(v));
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& cli_dirs)
{
    std::vector<fs::path> dirs(cli_dirs.begin(), cli_dirs.end());
    if (const char* env = std::getenv("CKPT_PLUGIN_PATH")) {
        std::string s(env);
        size_t start = 0;
        while (start <= s.size()) {
            size_t end = s.find(':', start);
            if (end == std::string::npos)
                end = s.size();
            if (end > start)
                dirs.emplace_back(s.substr(start, end - start));
            start = end + 1;
        }
    }
    // CKPT_PLUGIN_DEFAULT_DIR replaces the built-in directory; set but empty, it removes it
    // (tests and packagers use this to control exactly what is loaded).
    if (const char* def = std::getenv("CKPT_PLUGIN_DEFAULT_DIR")) {
        if (*def)
            dirs.emplace_back(def);
        return dirs;
    }
    std::error_code ec;
    fs::path exe = boost::dll::program_location(ec);
    if (!ec)
        dirs.push_back(exe.parent_path().parent_path() / "lib" / "ckptconv" / "plugins");
    return dirs;
}

std::string check_format_name(std::string_view name)
{
    if (name.empty())
        return "a format name is empty";
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return fmt::format("format name '{}' has a character other than a-z, 0-9, '.', '_', '-'", name);
    if (name.front() == '.' || name.front() == '_' || name.front() == '-')
        return fmt::format("format name '{}' must start with a letter or a digit", name);
    if (name == "hf" || name.substr(0, 3) == "cs-")
        return fmt::format("format name '{}' is a built-in format (hf, cs-*)", name);
    return {};
}

/// Storage behind PluginRecord::descriptor. Deques keep addresses fixed as they grow.
struct DescriptorCopy {
    ckpt_plugin plugin{};
    std::deque<ckpt_model> models;
    std::deque<ckpt_converter> converters;
    std::deque<ckpt_container> containers;
    std::deque<std::vector<const ckpt_converter*>> converter_arrays;
    std::vector<const ckpt_model*> model_array;
    std::vector<const ckpt_container*> container_array;
};

namespace {

std::string view(ckpt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

/// Checks a model's last release (ABI 1.2; zero in an older plugin's copy): empty, or a `cs-X.Y`
/// name spelled as the host spells it, with a reason only beside a release. Returns the problem or "".
std::string check_last_release(const ckpt_model& m)
{
    const std::string model = view(m.name);
    if ((!m.last_release.data && m.last_release.size) || (!m.last_release_reason.data && m.last_release_reason.size))
        return fmt::format("model '{}' has a last release or reason with a NULL string", model);
    const std::string last = view(m.last_release);
    if (last.empty())
        return m.last_release_reason.size
                   ? fmt::format("model '{}' gives a reason for a last release but no release", model)
                   : std::string();
    const auto v = parse_cs_version(last);
    if (!v || v->name() != last)
        return fmt::format("model '{}' has last release '{}', which is not a Cerebras release (cs-X.Y, e.g. cs-2.3)",
                           model, last);
    return {};
}

/// Checks everything the host will later read from a descriptor and copies each struct at the
/// size this host knows. Returns the problem or "" (then `out` is complete).
std::string copy_descriptor(const ckpt_plugin* d, DescriptorCopy& out)
{
    auto plugin = abi_prefix(d);
    if (!plugin)
        return fmt::format("plugin descriptor is {} bytes, ABI 1.0 needs at least {}", d->struct_size,
                           kAbi10Size<ckpt_plugin>);
    out.plugin = *plugin;
    if (!d->name.data || d->name.size == 0)
        return "plugin descriptor has no name";
    if (d->model_count && !d->models)
        return "plugin descriptor lists models but the array is NULL";
    if (d->container_count && !d->containers)
        return "plugin descriptor lists containers but the array is NULL";
    for (size_t i = 0; i < d->model_count; ++i) {
        auto m = abi_prefix(d->models[i]);
        if (!m || !m->name.data || m->name.size == 0)
            return fmt::format("model #{} of the descriptor is missing or malformed", i);
        if (m->alias_count && !m->aliases)
            return fmt::format("model '{}' lists aliases but the array is NULL", view(m->name));
        if (m->converter_count && !m->converters)
            return fmt::format("model '{}' lists converters but the array is NULL", view(m->name));
        if (std::string why = check_last_release(*m); !why.empty())
            return why;
        auto& convs = out.converter_arrays.emplace_back();
        for (size_t j = 0; j < m->converter_count; ++j) {
            auto c = abi_prefix(m->converters[j]);
            if (!c || !c->convert_config || !c->plan_checkpoint)
                return fmt::format("converter #{} of model '{}' is missing or malformed", j, view(m->name));
            for (const auto& g : c->formats)
                if (g.count == 0 || !g.formats)
                    return fmt::format("converter #{} of model '{}' has an empty format group", j,
                                       view(m->name));
            convs.push_back(&out.converters.emplace_back(*c));
        }
        m->converters = convs.data();
        out.model_array.push_back(&out.models.emplace_back(*m));
    }
    for (size_t i = 0; i < d->container_count; ++i) {
        auto c = abi_prefix(d->containers[i]);
        if (!c || !c->identify || !c->open_source)
            return fmt::format("container #{} of the descriptor is missing or malformed", i);
        if (std::string why = check_format_name(view(c->name)); !why.empty())
            return fmt::format("container #{}: {}", i, why);
        out.container_array.push_back(&out.containers.emplace_back(*c));
    }
    out.plugin.models = out.model_array.data();
    out.plugin.containers = out.container_array.data();
    return {};
}

} // namespace

PluginRecord load_plugin(const fs::path& file)
{
    PluginRecord rec;
    rec.file = file;
    auto lib = std::make_shared<boost::dll::shared_library>();
    boost::dll::fs::error_code ec;
    lib->load(file, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec) {
        rec.reason = fmt::format("cannot load the library: {}", ec.message());
        return rec;
    }
    if (!lib->has(CKPT_PLUGIN_ENTRY_SYMBOL)) {
        rec.reason = fmt::format("no exported symbol '{}' (not a ckptconv plugin)", CKPT_PLUGIN_ENTRY_SYMBOL);
        rec.library = lib; // unloading a library that ran static initialisers is unsafe
        return rec;
    }
    rec.library = lib;
    auto entry = lib->get<const ckpt_plugin*(const ckpt_host*)>(CKPT_PLUGIN_ENTRY_SYMBOL);
    const ckpt_plugin* desc = nullptr;
    take_plugin_failure();
    try {
        desc = entry(services());
    } catch (const std::exception& e) {
        rec.reason = fmt::format("'{}' threw an exception: {}", CKPT_PLUGIN_ENTRY_SYMBOL, e.what());
        return rec;
    } catch (...) {
        rec.reason = fmt::format("'{}' threw an unknown exception", CKPT_PLUGIN_ENTRY_SYMBOL);
        return rec;
    }
    if (!desc) {
        std::string why = take_plugin_failure().plugin_message;
        rec.reason = fmt::format("'{}' returned no descriptor{}{}", CKPT_PLUGIN_ENTRY_SYMBOL,
                                 why.empty() ? "" : ": ", why);
        return rec;
    }
    if (desc->struct_size < 2 * sizeof(uint32_t)) {
        rec.reason = fmt::format("plugin descriptor is {} bytes, too small to hold a version", desc->struct_size);
        return rec;
    }
    rec.abi_version = desc->abi_version;
    const uint32_t host_abi = CKPT_ABI_VERSION;
    if (CKPT_VERSION_MAJOR(desc->abi_version) != CKPT_VERSION_MAJOR(host_abi)) {
        rec.reason = fmt::format("built for ckptconv plugin ABI {}, this ckptconv has ABI {} (major versions "
                                 "differ; rebuild the plugin against this SDK)",
                                 format_abi(desc->abi_version), format_abi(host_abi));
        return rec;
    }
    if (CKPT_VERSION_MINOR(desc->abi_version) > CKPT_VERSION_MINOR(host_abi)) {
        rec.reason = fmt::format("built for ckptconv plugin ABI {}, newer than this ckptconv's ABI {} "
                                 "(upgrade ckptconv or rebuild the plugin against this SDK)",
                                 format_abi(desc->abi_version), format_abi(host_abi));
        return rec;
    }
    auto copies = std::make_shared<DescriptorCopy>();
    std::string problem = copy_descriptor(desc, *copies);
    if (!problem.empty()) {
        rec.reason = problem;
        return rec;
    }
    rec.descriptor = &copies->plugin;
    rec.copies = std::move(copies);
    rec.loaded = true;
    return rec;
}

namespace {

/// Rejects the last record when one of its container names an earlier loaded plugin registered.
void reject_taken_formats(std::vector<PluginRecord>& records)
{
    PluginRecord& last = records.back();
    if (!last.loaded)
        return;
    for (size_t i = 0; i < last.descriptor->container_count; ++i) {
        const std::string name = view(last.descriptor->containers[i]->name);
        for (size_t k = 0; k + 1 < records.size(); ++k) {
            const PluginRecord& earlier = records[k];
            if (!earlier.loaded)
                continue;
            for (size_t j = 0; j < earlier.descriptor->container_count; ++j)
                if (view(earlier.descriptor->containers[j]->name) == name) {
                    last.loaded = false;
                    last.descriptor = nullptr;
                    last.reason = fmt::format("format '{}' is already registered by {}", name, earlier.file.string());
                    return;
                }
        }
    }
}

} // namespace

std::vector<PluginRecord> load_plugins(const std::vector<fs::path>& dirs)
{
    std::vector<PluginRecord> out;
    std::set<fs::path> seen;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            continue;
        std::vector<fs::path> files;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const fs::path& p = it->path();
            // Only ckptconv_<family>.so: a helper library shipped beside a plugin is not dlopen'ed
            // (its static initialisers would run) just because it sits in the directory.
            if (p.extension() == ".so" && p.filename().string().rfind("ckptconv_", 0) == 0 && it->is_regular_file(ec))
                files.push_back(p);
        }
        std::sort(files.begin(), files.end()); // readdir order is not stable
        for (const auto& f : files) {
            fs::path canon = fs::weakly_canonical(f, ec);
            if (!seen.insert(ec ? f : canon).second)
                continue;
            out.push_back(load_plugin(f));
            reject_taken_formats(out);
        }
    }
    return out;
}

} // namespace ckpt::host
