// SPDX-License-Identifier: Apache-2.0
// The `model.lora_params` of a Cerebras config: parsing with the Model Zoo's defaults, group lookup.
#include "lora/cs_lora_params.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace ckpt::lora {

namespace {

CsLoraGroup parse_group(const Node& g, const std::string& where)
{
    if (!g.is_map())
        throw_input("{}: expected a mapping of LoRA parameters, found a {}", where, Node::kind_name(g.kind()));
    CsLoraGroup out;
    for (const auto& entry : g.entries()) {
        // Named references, not a structured binding: C++17 lambdas cannot capture those (clang).
        const auto& key = entry.first;
        const auto& value = entry.second;
        const std::string k = Node::key_text(key);
        const std::string at = where + "." + k;
        auto number = [&]() {
            if (value.kind() != Node::Kind::integer && value.kind() != Node::Kind::floating)
                throw_input("{}: expected a number, found a {}", at, Node::kind_name(value.kind()));
            return value.as_float();
        };
        if (k == "r") {
            if (value.kind() != Node::Kind::integer)
                throw_input("{}: the LoRA rank must be an integer, found a {}", at, Node::kind_name(value.kind()));
            out.r = value.as_int();
            if (out.r < 0)
                throw_input("{}: the LoRA rank must not be negative ({})", at, out.r);
        } else if (k == "alpha") {
            out.alpha = number();
        } else if (k == "dropout") {
            number();
        } else if (k == "fan_in_fan_out" || k == "merge_weights") {
            if (value.kind() != Node::Kind::boolean)
                throw_input("{}: expected true or false, found a {}", at, Node::kind_name(value.kind()));
            if (k == "fan_in_fan_out")
                out.fan_in_fan_out = value.as_bool();
        } else if (k == "target_modules") {
            if (value.is_null())
                continue;
            if (!value.is_sequence())
                throw_input("{}: expected a list of module class names, found a {}", at,
                            Node::kind_name(value.kind()));
            std::vector<std::string> names;
            for (const Node& n : value.items()) {
                if (n.kind() != Node::Kind::string)
                    throw_input("{}: expected module class names (strings), found a {}", at,
                                Node::kind_name(n.kind()));
                names.push_back(n.as_string());
            }
            out.target_modules = std::move(names);
        } else {
            // LoraConfig(**params) would raise TypeError on it.
            throw_input("{}: unknown LoRA parameter (known: r, alpha, dropout, fan_in_fan_out, merge_weights, "
                        "target_modules)",
                        at);
        }
    }
    return out;
}

} // namespace

std::vector<CsLoraGroup> parse_cs_lora_params(const Node& lora_params, const std::string& file)
{
    const std::string where = file + ": model.lora_params";
    std::vector<CsLoraGroup> groups;
    if (lora_params.is_sequence()) {
        for (size_t i = 0; i < lora_params.items().size(); ++i)
            groups.push_back(parse_group(lora_params.items()[i], where + "[" + std::to_string(i) + "]"));
        if (groups.empty())
            throw_input("{}: the list of LoRA groups is empty", where);
    } else if (lora_params.is_null()) {
        throw_input("{}: lora_params must be included in model config", where);
    } else {
        groups.push_back(parse_group(lora_params, where));
    }
    return groups;
}

std::optional<size_t> group_for(const std::vector<CsLoraGroup>& groups, const std::vector<std::string>& classes)
{
    for (size_t i = 0; i < groups.size(); ++i) {
        const auto& t = groups[i].target_modules;
        if (!t || std::all_of(t->begin(), t->end(), [&](const std::string& name) {
                return std::find(classes.begin(), classes.end(), name) != classes.end();
            }))
            return i;
    }
    return std::nullopt;
}

} // namespace ckpt::lora
