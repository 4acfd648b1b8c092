// SPDX-License-Identifier: Apache-2.0
// What every sub-command shares: common flags, argument parsing, plugin loading.
#include "cli_common.hpp"
#include "table.hpp"

#include "convert/dtype_cast.hpp"
#include "convert/private_formats.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/spelling_suggestion.hpp"
#include "core/thread_budget.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace ckpt::cli {

namespace {

// Hidden flags every sub-command answers: the build runs --help-man to make the manual pages
// and the shell completion runs --complete-flags, so both come from the same definitions as --help.
constexpr const char* kHelpMan = "--help-man";
constexpr const char* kCompleteFlags = "--complete-flags";

/// Text safe to put into a roff line: backslashes doubled, hyphens as minus signs (so flags can
/// be copied from the page), a control character at the start of a line defused.
std::string roff(std::string_view s)
{
    std::string out;
    bool line_start = true;
    for (char c : s) {
        if (line_start && (c == '.' || c == '\''))
            out += "\\&";
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
        line_start = c == '\n';
    }
    return out;
}

std::string upper(std::string s)
{
    for (char& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// "--model", or "-q, --quiet" for an option with a short name.
std::string flag_spelling(const po::option_description& o)
{
    const std::string shorter = o.canonical_display_name(po::command_line_style::allow_dash_for_short);
    const std::string long_form = "--" + o.long_name();
    if (shorter.size() == 2 && shorter[0] == '-' && shorter[1] != '-')
        return shorter + ", " + long_form;
    return long_form;
}

/// True for options that take a value (not switches).
bool takes_value(const po::option_description& o) { return o.semantic()->max_tokens() > 0; }

} // namespace

Parser::Parser(std::string command, std::string usage, std::string summary)
    : m_command(std::move(command)), m_usage(std::move(usage)), m_summary(std::move(summary)), m_options("Options")
{
    m_options.add_options()("help,h", "show this help and exit");
}

void Parser::positional(const std::string& name, const std::string& metavar)
{
    m_positional.add(name.c_str(), 1);
    m_positional_names.emplace_back(name, metavar);
}

void Parser::add_common(CommonOptions& common)
{
    m_common = &common;
    m_options.add_options()
        ("plugin-dir", po::value<std::vector<std::string>>(&common.plugin_dirs)->composing(),
         "also look for plugins in this directory (searched first; repeatable)")
        ("quiet,q", po::bool_switch(&common.quiet), "print only warnings and errors")
        ("verbose,v", po::bool_switch(&common.verbose), "print debug messages")
        ("threads", po::value<std::string>()->value_name("N")->notifier([&common](const std::string& n) { common.threads = n; }),
         "use at most N threads for CPU work (default: CKPTCONV_THREADS, else every core)");
}

std::string Parser::usage_error(const po::error& e) const
{
    auto metavar_of = [this](std::string name) -> std::string {
        name.erase(0, name.find_first_not_of('-'));
        for (const auto& [opt, meta] : m_positional_names)
            if (opt == name)
                return meta;
        return {};
    };
    std::string what;
    if (const auto* u = dynamic_cast<const po::unknown_option*>(&e)) {
        std::vector<std::string> flags;
        for (const auto& o : m_options.options())
            if (metavar_of(o->long_name()).empty())
                flags.push_back("--" + o->long_name());
        const std::string name = u->get_option_name();
        what = fmt::format("unknown option {}.{}", name, did_you_mean(name, flags));
    } else if (const auto* r = dynamic_cast<const po::required_option*>(&e)) {
        const std::string name = r->get_option_name();
        const std::string meta = metavar_of(name);
        const po::option_description* o = m_options.find_nothrow(name.substr(name.find_first_not_of('-')), false);
        const std::string desc = o ? o->description() : std::string();
        if (!meta.empty())
            what = fmt::format("{} is missing: give the {} as an argument", meta, desc.empty() ? meta : desc);
        else
            what = fmt::format("{} is missing: give {} (the {})", name, name, desc);
    } else if (dynamic_cast<const po::too_many_positional_options_error*>(&e)) {
        std::vector<std::string> metas;
        for (const auto& p : m_positional_names)
            metas.push_back(p.second);
        what = metas.empty() ? "this command takes no arguments, only options"
                             : fmt::format("too many arguments: this command takes {}", fmt::join(metas, " and "));
    } else if (const auto* s = dynamic_cast<const po::invalid_command_line_syntax*>(&e);
               s && s->kind() == po::invalid_command_line_syntax::missing_parameter) {
        what = fmt::format("{} needs a value", s->get_option_name());
    } else if (const auto* m = dynamic_cast<const po::multiple_occurrences*>(&e)) {
        const std::string meta = metavar_of(m->get_option_name());
        what = meta.empty() ? fmt::format("{} is given more than once", m->get_option_name())
                            : fmt::format("{} is given more than once", meta);
    } else if (const auto* v = dynamic_cast<const po::validation_error*>(&e)) {
        const std::string name = v->get_option_name();
        const po::option_description* o = m_options.find_nothrow(name.substr(name.find_first_not_of('-')), false);
        what = o && !takes_value(*o) ? fmt::format("{} takes no value", name)
                                     : fmt::format("{} has an invalid value (see --help)", name);
    } else {
        what = e.what();
    }
    return fmt::format("ckptconv {}: {}\nUsage: {}\nRun `ckptconv help {}` for details.", m_command, what, m_usage,
                       m_command);
}

bool Parser::parse(const std::vector<std::string>& args, po::variables_map& vm)
{
    if (std::find(args.begin(), args.end(), kHelpMan) != args.end()) {
        print_man(std::cout);
        return false;
    }
    if (std::find(args.begin(), args.end(), kCompleteFlags) != args.end()) {
        for (const auto& o : m_options.options())
            if (std::none_of(m_positional_names.begin(), m_positional_names.end(),
                             [&](const auto& p) { return p.first == o->long_name(); }))
                std::cout << "--" << o->long_name() << "\n";
        return false;
    }
    try {
        po::store(po::command_line_parser(args).options(m_options).positional(m_positional).run(), vm);
        if (vm.count("help")) {
            print_help(std::cout);
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(usage_error(e));
    }
    if (m_common)
        apply_common(*m_common);
    return true;
}

void Parser::print_help(std::ostream& out) const
{
    out << "Usage: " << m_usage << "\n\n" << wrap(m_summary, 80) << "\n\n";
    po::options_description shown("Options");
    for (const auto& o : m_options.options()) {
        bool is_positional = false;
        for (const auto& [name, meta] : m_positional_names)
            if (name == o->long_name()) {
                out << fmt::format("  {:<22}{}\n", meta, o->description());
                is_positional = true;
            }
        if (!is_positional)
            shown.add(o);
    }
    if (!m_positional_names.empty())
        out << "\n";
    out << shown << "\nckptconv " << CKPTCONV_VERSION << "\n";
}

void Parser::print_man(std::ostream& out) const
{
    const std::string first_sentence = m_summary.substr(0, m_summary.find(". ") + 1);
    out << ".\\\" Generated by `ckptconv " << m_command << " --help-man` from the options --help shows.\n"
        << ".TH CKPTCONV\\-" << roff(upper(m_command)) << " 1 \"\" \"ckptconv " << CKPTCONV_VERSION
        << "\" \"ckptconv manual\"\n"
        << ".SH NAME\nckptconv\\-" << roff(m_command) << " \\- " << roff(first_sentence) << "\n"
        << ".SH SYNOPSIS\n" << roff(m_usage) << "\n"
        << ".SH DESCRIPTION\n" << roff(m_summary) << "\n";
    if (!m_positional_names.empty()) {
        out << ".SH ARGUMENTS\n";
        for (const auto& [name, meta] : m_positional_names)
            out << ".TP\n.I " << roff(meta) << "\n" << roff(m_options.find(name, false).description()) << "\n";
    }
    out << ".SH OPTIONS\n";
    for (const auto& o : m_options.options()) {
        if (std::any_of(m_positional_names.begin(), m_positional_names.end(),
                        [&](const auto& p) { return p.first == o->long_name(); }))
            continue;
        out << ".TP\n\\fB" << roff(flag_spelling(*o)) << "\\fR";
        if (takes_value(*o))
            out << " \\fI" << roff(upper(o->long_name())) << "\\fR";
        out << "\n" << roff(o->description()) << "\n";
    }
    out << ".SH EXIT STATUS\n0 success, 1 conversion failed (or, for diff, the checkpoints differ), 2 usage error, "
           "3 plugin or ABI error, 4 I/O error or bad input.\n"
        << ".SH ENVIRONMENT\n.TP\n.B CKPTCONV_THREADS\nthe default for \\-\\-threads.\n"
        << ".TP\n.B CKPT_PLUGIN_PATH\nmore plugin directories, searched before the default one.\n"
        << ".SH SEE ALSO\n.BR ckptconv (1)\n";
}

namespace {

/// A thread count from --threads or CKPTCONV_THREADS: a whole number from 1 to 4096.
unsigned parse_thread_count(const std::string& text, const std::string& where)
{
    const bool digits = !text.empty() && text.size() <= 4 &&
                        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const unsigned long n = digits ? std::stoul(text) : 0;
    if (n == 0 || n > 4096)
        throw UsageError(fmt::format("{}: expected a whole number of threads from 1 to 4096", where));
    return static_cast<unsigned>(n);
}

} // namespace

void apply_common(const CommonOptions& common)
{
    if (common.quiet)
        log::set_level(log::Level::warning);
    if (common.verbose)
        log::set_level(log::Level::debug);
    if (common.threads) {
        set_thread_budget(parse_thread_count(*common.threads, "--threads " + *common.threads));
        log::debug("thread budget: {} (--threads)", thread_budget());
    } else if (const char* env = std::getenv("CKPTCONV_THREADS"); env && *env) {
        set_thread_budget(parse_thread_count(env, std::string("CKPTCONV_THREADS=") + env));
        log::debug("thread budget: {} (CKPTCONV_THREADS)", thread_budget());
    }
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

std::vector<std::string> format_names(const host::Registry* registry)
{
    std::vector<std::string> out{"hf"};
    for (const auto& v : host::known_cs_releases())
        out.push_back(v.name());
    out.push_back("cs-auto");
    out.push_back("cs-current");
    if (registry)
        for (const auto& f : registry->private_formats())
            out.push_back(f.name);
    return out;
}

std::optional<DType> parse_dtype_option(const std::string& value)
{
    if (value.empty())
        return std::nullopt;
    if (auto d = convert::parse_float_dtype(value))
        return d;
    const std::vector<std::string> choices(std::begin(convert::kDtypeChoices), std::end(convert::kDtypeChoices));
    throw UsageError(fmt::format("--dtype {}: expected {}.{}", value, fmt::join(choices, ", "), did_you_mean(value, choices)));
}

std::string require_model(const host::Registry& registry, const std::string& model)
{
    if (registry.find(model))
        return registry.spelling(model);
    convert::missing_plugin_check(model); // a bundled family's model whose plugin is not installed: exit 3
    const std::vector<std::string> names = registry.names();
    throw UsageError(fmt::format(
        "The model {} is not supported.{} Supported models: {}", model, did_you_mean(model, names),
        names.empty() ? "(none: no model plugin was found; see `ckptconv plugins`)" : fmt::format("{}", fmt::join(names, ", "))));
}

} // namespace ckpt::cli
