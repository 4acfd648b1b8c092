// SPDX-License-Identifier: Apache-2.0
// Walks a value tree leaf by leaf with pytree-style dotted paths.
#include "core/tree_paths.hpp"

#include <fmt/format.h>

namespace ckpt {

namespace {
void walk(const Node& n, const std::string& path, const std::function<void(const std::string&, const Node&)>& fn)
{
    auto child = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
    if (n.is_map() && n.size() > 0) {
        for (const auto& [k, v] : n.entries())
            walk(v, child(Node::key_text(k)), fn);
    } else if (n.is_sequence() && n.size() > 0) {
        for (size_t i = 0; i < n.items().size(); ++i)
            walk(n.items()[i], child(std::to_string(i)), fn);
    } else {
        fn(path, n);
    }
}
} // namespace

void for_each_leaf(const Node& root, const std::function<void(const std::string&, const Node&)>& fn)
{
    walk(root, "", fn);
}

std::vector<std::pair<std::string, const Node*>> leaves(const Node& root)
{
    std::vector<std::pair<std::string, const Node*>> out;
    for_each_leaf(root, [&](const std::string& p, const Node& n) { out.emplace_back(p, &n); });
    return out;
}

std::string render_leaf(const Node& n)
{
    switch (n.kind()) {
    case Node::Kind::null: return "None";
    case Node::Kind::boolean: return n.as_bool() ? "True" : "False";
    case Node::Kind::integer: return std::to_string(n.as_int());
    case Node::Kind::floating: return fmt::format("{}", n.as_float());
    case Node::Kind::string: return fmt::format("'{}'", n.as_string());
    case Node::Kind::bytes: return fmt::format("<{} bytes>", n.as_string().size());
    case Node::Kind::list: return "[]";
    case Node::Kind::tuple: return "()";
    case Node::Kind::map: return "{}";
    case Node::Kind::tensor: return describe(n.as_tensor()->info());
    case Node::Kind::opaque: return fmt::format("<{}>", n.as_opaque().type);
    }
    return "?";
}

} // namespace ckpt
