// SPDX-License-Identifier: Apache-2.0
// `ckptconv list [model]`: the conversions each model supports, as the Model Zoo's table.
#include "cli_common.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "table.hpp"

#include "core/spelling_suggestion.hpp"

#include <fmt/format.h>

#include <iostream>

namespace ckpt::cli {

namespace {

std::string join(const std::vector<std::string>& v)
{
    return fmt::format("{}", fmt::join(v, ", "));
}

void print_json(const host::Registry& reg, const std::vector<std::string>& names, bool notes)
{
    JsonOutput out;
    out.begin_object();
    out.key("models");
    out.begin_array();
    for (const auto& name : names) {
        const host::ModelEntry* m = reg.find(name);
        out.begin_object();
        out.member("model", name);
        // An alias names its model; a model lists its aliases.
        out.key("alias_of");
        name == m->name ? out.null() : out.string(m->name);
        out.member("aliases", name == m->name ? m->aliases : std::vector<std::string>{});
        out.member("family", m->name);
        out.member("plugin", m->plugin->file.string());
        out.key("converters");
        out.begin_array();
        for (const auto& r : reg.list_rows(*m)) {
            out.begin_object();
            out.key("formats");
            out.begin_array();
            out.strings(r.side[0]);
            out.strings(r.side[1]);
            out.end_array();
            out.member("generic", r.fallback());
            if (notes)
                out.member("note", r.note);
            out.end_object();
        }
        out.end_array();
        out.end_object();
    }
    out.end_array();
    out.end_object();
    out.print(std::cout);
}

} // namespace

int cmd_list(const Args& args)
{
    CommonOptions common;
    std::string model = "all";
    bool hide_notes = false, json = false, names_only = false;
    Parser p("list", "ckptconv list [MODEL] [--hide-notes] [--json] [--names]",
             "Lists the supported models and the format pairs each converts between (both "
             "directions). MODEL is a model name or alias (default: all).");
    p.options().add_options()
        ("model", po::value<std::string>(&model), "model name or alias, or 'all'")
        ("hide-notes", po::bool_switch(&hide_notes), "omit the notes column")
        ("json", po::bool_switch(&json), "print JSON instead of a table")
        ("names", po::bool_switch(&names_only), "print only the model names and aliases, one per line");
    p.positional("model", "MODEL");
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;

    Session s = load_session(common);
    const host::Registry& reg = s.registry;
    std::vector<std::string> names;
    if (names_only) {
        for (const auto& n : reg.names())
            std::cout << n << "\n";
        return 0;
    }
    if (model == "all") {
        names = reg.names();
    } else if (reg.find(model)) {
        names.push_back(reg.spelling(model));
    } else {
        std::cout << fmt::format("The model {} is not supported.\n", model);
        std::cout << "The following models are supported:\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : reg.names())
            rows.push_back({n});
        std::cout << fancy_grid({"model"}, rows);
        if (auto close = closest_spelling(model, reg.names()))
            std::cerr << fmt::format("Did you mean '{}'?\n", *close);
        return 1;
    }
    if (json) {
        print_json(reg, names, !hide_notes);
        return 0;
    }
    std::vector<std::string> headers{"model", "src-fmt", "tgt-fmt"};
    if (!hide_notes)
        headers.push_back("notes");
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : names) {
        const host::ModelEntry* m = reg.find(n);
        for (const auto& r : reg.list_rows(*m)) {
            std::vector<std::string> row{n, join(r.side[0]) + "\n" + join(r.side[1]),
                                         join(r.side[1]) + "\n" + join(r.side[0])};
            if (!hide_notes)
                row.push_back(wrap(r.note, 60));
            rows.push_back(std::move(row));
        }
    }
    std::cout << "The following converters are supported:\n" << fancy_grid(headers, rows);
    if (names.empty())
        std::cerr << "No model plugins were found. Run `ckptconv plugins` to see where ckptconv looked.\n";
    return 0;
}

} // namespace ckpt::cli
