// SPDX-License-Identifier: Apache-2.0
// The host's ordered value tree.
#include "core/node.hpp"

#include "core/error.hpp"

namespace ckpt {

Node::Node(Kind k) : m_kind(k)
{
    switch (k) {
    case Kind::list:
    case Kind::tuple: m_value = std::vector<Node>{}; break;
    case Kind::map: m_value = std::vector<Entry>{}; break;
    case Kind::bytes:
    case Kind::string: m_value = std::string{}; break;
    default: break;
    }
}

std::string_view Node::kind_name(Kind k)
{
    switch (k) {
    case Kind::null: return "null";
    case Kind::boolean: return "boolean";
    case Kind::integer: return "integer";
    case Kind::floating: return "float";
    case Kind::string: return "string";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::map: return "map";
    case Kind::tensor: return "tensor";
    case Kind::opaque: return "object";
    }
    return "?";
}

namespace {
[[noreturn]] void wrong_kind(std::string_view expected, Node::Kind actual)
{
    throw InputError(fmt::format("expected a {} value, found a {}", expected, Node::kind_name(actual)));
}
} // namespace

bool Node::as_bool() const
{
    if (m_kind != Kind::boolean)
        wrong_kind("boolean", m_kind);
    return std::get<bool>(m_value);
}

int64_t Node::as_int() const
{
    if (m_kind == Kind::boolean)
        return std::get<bool>(m_value) ? 1 : 0;
    if (m_kind != Kind::integer)
        wrong_kind("integer", m_kind);
    return std::get<int64_t>(m_value);
}

double Node::as_float() const
{
    if (m_kind == Kind::integer)
        return static_cast<double>(std::get<int64_t>(m_value));
    if (m_kind != Kind::floating)
        wrong_kind("number", m_kind);
    return std::get<double>(m_value);
}

const std::string& Node::as_string() const
{
    if (m_kind != Kind::string && m_kind != Kind::bytes)
        wrong_kind("string", m_kind);
    return std::get<std::string>(m_value);
}

const TensorPtr& Node::as_tensor() const
{
    if (m_kind != Kind::tensor)
        wrong_kind("tensor", m_kind);
    return std::get<TensorPtr>(m_value);
}

const Opaque& Node::as_opaque() const
{
    if (m_kind != Kind::opaque)
        wrong_kind("object", m_kind);
    return *std::get<std::shared_ptr<Opaque>>(m_value);
}

const std::vector<Node>& Node::items() const
{
    if (!is_sequence())
        wrong_kind("list", m_kind);
    return std::get<std::vector<Node>>(m_value);
}

std::vector<Node>& Node::items()
{
    if (!is_sequence())
        wrong_kind("list", m_kind);
    return std::get<std::vector<Node>>(m_value);
}

const std::vector<Node::Entry>& Node::entries() const
{
    if (m_kind != Kind::map)
        wrong_kind("map", m_kind);
    return std::get<std::vector<Entry>>(m_value);
}

std::vector<Node::Entry>& Node::entries()
{
    if (m_kind != Kind::map)
        wrong_kind("map", m_kind);
    return std::get<std::vector<Entry>>(m_value);
}

const Node* Node::find(std::string_view key) const
{
    if (m_kind != Kind::map)
        return nullptr;
    for (const auto& e : std::get<std::vector<Entry>>(m_value))
        if (e.first.m_kind == Kind::string && std::get<std::string>(e.first.m_value) == key)
            return &e.second;
    return nullptr;
}

Node* Node::find(std::string_view key)
{
    return const_cast<Node*>(static_cast<const Node*>(this)->find(key));
}

Node& Node::set(std::string_view key, Node value)
{
    if (Node* existing = find(key)) {
        *existing = std::move(value);
        return *existing;
    }
    auto& es = entries();
    es.emplace_back(Node(std::string(key)), std::move(value));
    return es.back().second;
}

bool Node::erase(std::string_view key)
{
    if (m_kind != Kind::map)
        return false;
    auto& es = std::get<std::vector<Entry>>(m_value);
    for (auto it = es.begin(); it != es.end(); ++it) {
        if (it->first.m_kind == Kind::string && std::get<std::string>(it->first.m_value) == key) {
            es.erase(it);
            return true;
        }
    }
    return false;
}

size_t Node::size() const
{
    if (is_sequence())
        return std::get<std::vector<Node>>(m_value).size();
    if (m_kind == Kind::map)
        return std::get<std::vector<Entry>>(m_value).size();
    return 0;
}

bool Node::operator==(const Node& o) const
{
    if (m_kind != o.m_kind)
        return false;
    switch (m_kind) {
    case Kind::opaque: {
        const Opaque& a = as_opaque();
        const Opaque& b = o.as_opaque();
        auto same = [](const std::shared_ptr<Node>& x, const std::shared_ptr<Node>& y) {
            return (!x && !y) || (x && y && *x == *y);
        };
        return a.type == b.type && a.raw == b.raw && same(a.args, b.args) && same(a.state, b.state);
    }
    default: return m_value == o.m_value;
    }
}

std::string Node::key_text(const Node& key)
{
    switch (key.m_kind) {
    case Kind::string: return std::get<std::string>(key.m_value);
    case Kind::integer: return std::to_string(std::get<int64_t>(key.m_value));
    case Kind::boolean: return std::get<bool>(key.m_value) ? "True" : "False";
    case Kind::floating: return fmt::format("{}", std::get<double>(key.m_value));
    case Kind::null: return "None";
    default: return fmt::format("<{}>", kind_name(key.m_kind));
    }
}

} // namespace ckpt
