// SPDX-License-Identifier: Apache-2.0
// What every sub-command shares: common flags, argument parsing, plugin loading, JSON output.
#include "cli_common.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <iostream>

namespace ckpt::cli {

Parser::Parser(std::string usage, std::string summary)
    : m_usage(std::move(usage)), m_summary(std::move(summary)), m_options("Options")
{
    m_options.add_options()("help,h", "show this help and exit");
}

void Parser::add_common(CommonOptions& common)
{
    m_common = &common;
    m_options.add_options()
        ("plugin-dir", po::value<std::vector<std::string>>(&common.plugin_dirs)->composing(),
         "also look for plugins in this directory (searched first; repeatable)")
        ("quiet,q", po::bool_switch(&common.quiet), "print only warnings and errors")
        ("verbose,v", po::bool_switch(&common.verbose), "print debug messages");
}

bool Parser::parse(const std::vector<std::string>& args, po::variables_map& vm)
{
    try {
        po::store(po::command_line_parser(args).options(m_options).positional(m_positional).run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: " << m_usage << "\n\n" << m_summary << "\n\n" << m_options << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(fmt::format("{}\nUsage: {}\nRun with --help for details.", e.what(), m_usage));
    }
    if (m_common) {
        if (m_common->quiet)
            log::set_level(log::Level::warning);
        if (m_common->verbose)
            log::set_level(log::Level::debug);
    }
    return true;
}

Session load_session(const CommonOptions& common, bool warn)
{
    Session s;
    std::vector<std::filesystem::path> cli_dirs(common.plugin_dirs.begin(), common.plugin_dirs.end());
    s.search_path = host::plugin_search_path(cli_dirs);
    for (const auto& d : s.search_path)
        log::debug("plugin directory: {}", d.string());
    s.records = host::load_plugins(s.search_path);
    s.registry = host::Registry::build(s.records);
    for (const auto& r : s.records) {
        if (!warn)
            continue;
        if (!r.loaded)
            log::warning("plugin {} rejected: {}", r.file.string(), r.reason);
        for (const auto& w : r.warnings)
            log::warning("plugin {}: {}", r.file.string(), w);
    }
    return s;
}

std::string json_quote(std::string_view s)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(buf.GetString(), buf.GetSize());
}

} // namespace ckpt::cli
