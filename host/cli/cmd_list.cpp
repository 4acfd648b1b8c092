// SPDX-License-Identifier: Apache-2.0
// `ckptconv list [model]`: the conversions each model supports, as the Model Zoo's table.
#include "cli_common.hpp"
#include "commands.hpp"
#include "table.hpp"

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
    std::string out = "{\"models\": [";
    for (size_t i = 0; i < names.size(); ++i) {
        const host::ModelEntry* m = reg.find(names[i]);
        out += fmt::format("{}\n  {{\"model\": {}, \"family\": {}, \"plugin\": {}, \"converters\": [",
                           i ? "," : "", json_quote(names[i]), json_quote(m->name),
                           json_quote(m->plugin->file.string()));
        auto rows = reg.list_rows(*m);
        for (size_t j = 0; j < rows.size(); ++j) {
            const auto& r = rows[j];
            std::vector<std::string> a, b;
            for (const auto& f : r.side[0])
                a.push_back(json_quote(f));
            for (const auto& f : r.side[1])
                b.push_back(json_quote(f));
            out += fmt::format("{}\n    {{\"formats\": [[{}], [{}]], \"generic\": {}", j ? "," : "",
                               fmt::join(a, ", "), fmt::join(b, ", "), r.fallback() ? "true" : "false");
            if (notes)
                out += fmt::format(", \"note\": {}", json_quote(r.note));
            out += "}";
        }
        out += "]}";
    }
    out += "\n]}\n";
    std::cout << out;
}

} // namespace

int cmd_list(const Args& args)
{
    CommonOptions common;
    std::string model = "all";
    bool hide_notes = false, json = false;
    Parser p("ckptconv list [MODEL] [--hide-notes] [--json]",
             "Lists the supported models and the format pairs each converts between (both "
             "directions). MODEL is a model name or alias (default: all).");
    p.options().add_options()
        ("model", po::value<std::string>(&model), "model name or alias, or 'all'")
        ("hide-notes", po::bool_switch(&hide_notes), "omit the notes column")
        ("json", po::bool_switch(&json), "print JSON instead of a table");
    p.positional().add("model", 1);
    p.add_common(common);
    po::variables_map vm;
    if (!p.parse(args, vm))
        return 0;

    Session s = load_session(common);
    const host::Registry& reg = s.registry;
    std::vector<std::string> names;
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
