// SPDX-License-Identifier: Apache-2.0
// `ckptconv plugins`: every plugin file found, whether it loaded, and why not.
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"

#include <ckptconv/version.h>
#include <fmt/format.h>

#include <iostream>

namespace ckpt::cli {

namespace {

std::string str(ckpt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

std::vector<std::string> model_names(const host::PluginRecord& r)
{
    std::vector<std::string> out;
    if (!r.loaded)
        return out;
    for (size_t i = 0; i < r.descriptor->model_count; ++i) {
        const ckpt_model* m = r.descriptor->models[i];
        std::string n = str(m->name);
        for (size_t j = 0; j < m->alias_count; ++j)
            n += (j ? ", " : " (aliases: ") + str(m->aliases[j]);
        if (m->alias_count)
            n += ")";
        out.push_back(n);
    }
    return out;
}

std::vector<std::string> container_names(const host::PluginRecord& r)
{
    std::vector<std::string> out;
    if (!r.loaded)
        return out;
    for (size_t i = 0; i < r.descriptor->container_count; ++i)
        out.push_back(str(r.descriptor->containers[i]->name));
    return out;
}

/// {"name", "aliases": [...]} per model of a loaded plugin.
void json_models(JsonOutput& out, const host::PluginRecord& r)
{
    out.begin_array();
    for (size_t i = 0; i < r.descriptor->model_count; ++i) {
        const ckpt_model* m = r.descriptor->models[i];
        std::vector<std::string> aliases;
        for (size_t j = 0; j < m->alias_count; ++j)
            aliases.push_back(str(m->aliases[j]));
        out.begin_object();
        out.member("name", str(m->name));
        out.member("aliases", aliases);
        out.end_object();
    }
    out.end_array();
}

} // namespace

int cmd_plugins(const Args& args)
{
    CommonOptions common;
    bool json = false;
    Parser p("plugins", "ckptconv plugins [--json] [--plugin-dir DIR]...",
             "Shows where ckptconv looks for plugins, every plugin file it found, and for each "
             "whether it was loaded or rejected and why.");
    p.options().add_options()("json", po::bool_switch(&json), "print JSON");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;
    Session s = load_session(common, false);
    const std::string host_abi = host::format_abi(CKPT_ABI_VERSION);

    if (json) {
        std::vector<std::string> dirs;
        for (const auto& d : s.search_path)
            dirs.push_back(d.string());
        JsonOutput out;
        out.begin_object();
        out.member("host_abi", host_abi);
        out.member("search_path", dirs);
        out.key("plugins");
        out.begin_array();
        for (const auto& r : s.records) {
            out.begin_object();
            out.member("file", r.file.string());
            out.member("status", r.loaded ? "loaded" : "rejected");
            out.key("abi");
            r.abi_version ? out.string(host::format_abi(r.abi_version)) : out.null();
            if (r.loaded) {
                out.member("name", str(r.descriptor->name));
                out.member("version", str(r.descriptor->version));
                out.member("description", str(r.descriptor->description));
                out.key("models");
                json_models(out, r);
                out.member("containers", container_names(r));
            } else {
                out.member("reason", r.reason);
            }
            out.member("warnings", r.warnings);
            out.end_object();
        }
        out.end_array();
        out.end_object();
        out.print(std::cout);
        return 0;
    }

    std::cout << fmt::format("Host plugin ABI: {}\nSearch path:\n", host_abi);
    for (const auto& d : s.search_path) {
        std::error_code ec;
        std::cout << "  " << d.string() << (std::filesystem::is_directory(d, ec) ? "" : "  (not a directory)")
                  << "\n";
    }
    if (s.records.empty()) {
        std::cout << "No plugin files found.\n";
        return 0;
    }
    std::cout << "Plugins:\n";
    for (const auto& r : s.records) {
        if (r.loaded) {
            std::cout << fmt::format("  loaded    {}\n            {} {} (ABI {}): {}\n", r.file.string(),
                                     str(r.descriptor->name), str(r.descriptor->version),
                                     host::format_abi(r.abi_version), str(r.descriptor->description));
            auto models = model_names(r);
            if (!models.empty())
                std::cout << fmt::format("            models: {}\n", fmt::join(models, "; "));
            auto containers = container_names(r);
            if (!containers.empty())
                std::cout << fmt::format("            containers: {}\n", fmt::join(containers, ", "));
            for (const auto& w : r.warnings)
                std::cout << fmt::format("            warning: {}\n", w);
        } else {
            std::cout << fmt::format("  rejected  {}\n            {}\n", r.file.string(), r.reason);
        }
    }
    return 0;
}

} // namespace ckpt::cli
