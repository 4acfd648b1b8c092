// SPDX-License-Identifier: Apache-2.0
// The host's ordered value tree: configs (JSON/YAML) and whole checkpoints (state dicts with
// tensors, optimizer state, scalars, strings and opaque Python objects).
#pragma once

#include "core/tensor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ckpt {

class Node;

/// A Python object the pickle machine did not interpret (it never imports or calls anything):
/// the callable's dotted name, its arguments and its BUILD state, kept as data so it can be
/// reported, skipped or written back. `raw` holds the object's original serialised bytes when
/// a container keeps them (e.g. the dill hex of an `ObjectH5Type` dataset).
struct Opaque {
    std::string type;            // "argparse.Namespace", "numpy.core.multiarray.scalar", ...
    std::shared_ptr<Node> args;  // may be null
    std::shared_ptr<Node> state; // may be null
    std::string raw;
};

/// One value. Maps keep insertion order; their keys are Nodes so that pickled dicts with
/// integer keys (optimizer state) survive, but configs only use string keys.
class Node {
public:
    enum class Kind { null, boolean, integer, floating, string, bytes, list, tuple, map, tensor, opaque };
    using Entry = std::pair<Node, Node>;

    Node() = default;
    Node(std::nullptr_t) {}
    Node(bool v) : m_kind(Kind::boolean), m_value(v) {}
    Node(int v) : m_kind(Kind::integer), m_value(static_cast<int64_t>(v)) {}
    Node(int64_t v) : m_kind(Kind::integer), m_value(v) {}
    Node(double v) : m_kind(Kind::floating), m_value(v) {}
    Node(std::string v) : m_kind(Kind::string), m_value(std::move(v)) {}
    Node(const char* v) : Node(std::string(v)) {}
    Node(std::string_view v) : Node(std::string(v)) {}
    Node(TensorPtr t) : m_kind(Kind::tensor), m_value(std::move(t)) {}
    Node(Opaque o) : m_kind(Kind::opaque), m_value(std::make_shared<Opaque>(std::move(o))) {}

    static Node list() { return Node(Kind::list); }
    static Node tuple() { return Node(Kind::tuple); }
    static Node map() { return Node(Kind::map); }
    static Node bytes(std::string raw)
    {
        Node n(Kind::bytes);
        n.m_value = std::move(raw);
        return n;
    }

    Kind kind() const { return m_kind; }
    bool is_null() const { return m_kind == Kind::null; }
    bool is_map() const { return m_kind == Kind::map; }
    bool is_sequence() const { return m_kind == Kind::list || m_kind == Kind::tuple; }
    bool is_tensor() const { return m_kind == Kind::tensor; }
    bool is_scalar() const
    {
        return m_kind == Kind::boolean || m_kind == Kind::integer || m_kind == Kind::floating;
    }

    /// Typed access; throws Error(input) naming the expected and actual kind on mismatch.
    bool as_bool() const;
    int64_t as_int() const;
    double as_float() const; // integers convert
    const std::string& as_string() const; // string or bytes
    const TensorPtr& as_tensor() const;
    const Opaque& as_opaque() const;

    /// Items of a list or tuple.
    const std::vector<Node>& items() const;
    std::vector<Node>& items();
    void push_back(Node v) { items().push_back(std::move(v)); }

    /// Entries of a map.
    const std::vector<Entry>& entries() const;
    std::vector<Entry>& entries();
    /// Entry with a string key; nullptr when absent (or not a map).
    const Node* find(std::string_view key) const;
    Node* find(std::string_view key);
    /// Inserts or replaces the value under a string key, keeping the position of an existing key.
    Node& set(std::string_view key, Node value);
    /// Appends without checking for an existing key (for readers that validate separately).
    void append(Node key, Node value) { entries().emplace_back(std::move(key), std::move(value)); }
    bool erase(std::string_view key);
    /// Number of items or entries; 0 for scalars.
    size_t size() const;

    /// Deep structural equality (tensors compared by identity of TensorData).
    bool operator==(const Node& other) const;
    bool operator!=(const Node& other) const { return !(*this == other); }

    /// "map", "integer", ... for messages.
    static std::string_view kind_name(Kind k);

    /// Key of a map entry as text: strings as-is, integers in decimal (pytree key paths).
    static std::string key_text(const Node& key);

private:
    explicit Node(Kind k);
    Kind m_kind = Kind::null;
    std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<Node>,
                 std::vector<Entry>, TensorPtr, std::shared_ptr<Opaque>>
        m_value;
};

} // namespace ckpt
