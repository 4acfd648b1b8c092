// SPDX-License-Identifier: Apache-2.0
// `ckptconv plugins`: every plugin file found, whether it loaded, and why not.
#include "cli_common.hpp"
#include "commands.hpp"

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

std::string json_list(const std::vector<std::string>& v)
{
    std::vector<std::string> q;
    for (const auto& s : v)
        q.push_back(json_quote(s));
    return fmt::format("[{}]", fmt::join(q, ", "));
}

} // namespace

int cmd_plugins(const Args& args)
{
    CommonOptions common;
    bool json = false;
    Parser p("ckptconv plugins [--json] [--plugin-dir DIR]...",
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
        std::string out = fmt::format("{{\"host_abi\": {}, \"search_path\": {}, \"plugins\": [",
                                      json_quote(host_abi), json_list(dirs));
        for (size_t i = 0; i < s.records.size(); ++i) {
            const auto& r = s.records[i];
            out += fmt::format("{}\n  {{\"file\": {}, \"status\": \"{}\", \"abi\": {}", i ? "," : "",
                               json_quote(r.file.string()), r.loaded ? "loaded" : "rejected",
                               r.abi_version ? json_quote(host::format_abi(r.abi_version)) : "null");
            if (r.loaded)
                out += fmt::format(", \"name\": {}, \"version\": {}, \"description\": {}, \"models\": {}, "
                                   "\"containers\": {}",
                                   json_quote(str(r.descriptor->name)), json_quote(str(r.descriptor->version)),
                                   json_quote(str(r.descriptor->description)), json_list(model_names(r)),
                                   json_list(container_names(r)));
            else
                out += fmt::format(", \"reason\": {}", json_quote(r.reason));
            out += fmt::format(", \"warnings\": {}}}", json_list(r.warnings));
        }
        out += "\n]}\n";
        std::cout << out;
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
