// SPDX-License-Identifier: Apache-2.0
// What every sub-command shares: common flags, argument parsing, plugin loading, JSON output.
#pragma once

#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"

#include <boost/program_options.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::cli {

namespace po = boost::program_options;

/// Flags accepted by every sub-command.
struct CommonOptions {
    std::vector<std::string> plugin_dirs;
    bool quiet = false;
    bool verbose = false;
};

/// A sub-command's parser: its own options, positionals and usage line.
class Parser {
public:
    Parser(std::string usage, std::string summary);
    po::options_description& options() { return m_options; }
    po::positional_options_description& positional() { return m_positional; }
    /// Adds --plugin-dir, -q, -v.
    void add_common(CommonOptions& common);
    /// Parses `args` (without the sub-command name). Returns false when --help was printed.
    /// Throws UsageError for unknown or malformed flags.
    bool parse(const std::vector<std::string>& args, po::variables_map& vm);

private:
    std::string m_usage;
    std::string m_summary;
    po::options_description m_options;
    po::positional_options_description m_positional;
    CommonOptions* m_common = nullptr;
};

/// Plugins loaded and indexed for one command.
struct Session {
    std::vector<std::filesystem::path> search_path;
    std::vector<host::PluginRecord> records;
    host::Registry registry;
};

/// Loads the plugins named by the common options; prints rejected plugins and name clashes as
/// warnings when `warn` (the `plugins` command reports them itself).
Session load_session(const CommonOptions& common, bool warn = true);

/// Escapes a string for JSON output.
std::string json_quote(std::string_view s);

} // namespace ckpt::cli
