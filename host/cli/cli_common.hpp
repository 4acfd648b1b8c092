// SPDX-License-Identifier: Apache-2.0
// What every sub-command shares: common flags, argument parsing, plugin loading.
#pragma once

#include "core/dtype.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"

#include <boost/program_options.hpp>

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::cli {

namespace po = boost::program_options;

/// Flags accepted by every sub-command (and before it: `ckptconv -v convert ...`).
struct CommonOptions {
    std::vector<std::string> plugin_dirs;
    bool quiet = false;
    bool verbose = false;
    std::optional<std::string> threads; // checked by apply_common
};

/// A sub-command's parser: its own options, positionals and usage line. The option definitions
/// are the single source of `--help`, the manual page (`--help-man`) and the shell completion
/// (`--complete-flags`).
class Parser {
public:
    /// `command` is the sub-command's name ("convert"); `usage` its synopsis after "ckptconv".
    Parser(std::string command, std::string usage, std::string summary);
    po::options_description& options() { return m_options; }
    /// Declares the next positional argument: `name` is an option of options(), shown as
    /// `metavar` in messages ("CHECKPOINT").
    void positional(const std::string& name, const std::string& metavar);
    /// Adds --plugin-dir, -q, -v, --threads.
    void add_common(CommonOptions& common);
    /// Parses `args` (without the sub-command name). Returns false when it printed what was asked
    /// instead of running (--help, --help-man, --complete-flags). Throws UsageError, in a
    /// sentence naming the flag or argument, for unknown, missing or malformed ones.
    bool parse(const std::vector<std::string>& args, po::variables_map& vm);

    /// The sub-command's help as `--help` prints it.
    void print_help(std::ostream& out) const;
    /// The sub-command's manual page in roff (man(7)).
    void print_man(std::ostream& out) const;

private:
    std::string usage_error(const po::error& e) const;
    std::string m_command;
    std::string m_usage;
    std::string m_summary;
    po::options_description m_options;
    po::positional_options_description m_positional;
    std::vector<std::pair<std::string, std::string>> m_positional_names; // option, METAVAR
    CommonOptions* m_common = nullptr;
};

/// Applies -q/-v and the thread budget (--threads, else CKPTCONV_THREADS). Throws UsageError for
/// a thread count that is not a whole number from 1 to 4096.
void apply_common(const CommonOptions& common);

/// Plugins loaded and indexed for one command.
struct Session {
    std::vector<std::filesystem::path> search_path;
    std::vector<host::PluginRecord> records;
    host::Registry registry;
};

/// Loads the plugins named by the common options; prints rejected plugins and name clashes as
/// warnings when `warn` (the `plugins` command reports them itself).
Session load_session(const CommonOptions& common, bool warn = true);

/// Every format name a user may type for --src-fmt / --tgt-fmt, for suggestions and completion;
/// with `registry`, the private formats its plugins register too.
std::vector<std::string> format_names(const host::Registry* registry = nullptr);

/// The registered spelling of `model`; throws UsageError ("The model X is not supported.", a
/// suggestion, the supported models) when no plugin knows it.
std::string require_model(const host::Registry& registry, const std::string& model);

/// The dtype --dtype names; nullopt for an empty value; UsageError (with a suggestion) for a
/// name other than float32, bfloat16, float16.
std::optional<DType> parse_dtype_option(const std::string& value);

} // namespace ckpt::cli
