// SPDX-License-Identifier: Apache-2.0
// C++ views over the host's config tree (ckpt_config_api): read with ConstNode, write with Node.
#pragma once

#include <ckptconv/cpp/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ckpt::sdk {

/// Read-only view of a config node. Cheap to copy; valid as long as the node (see config.h).
/// A default-constructed or missing node is "absent": kind() == -1 and every getter throws.
class ConstNode {
public:
    ConstNode() = default;
    ConstNode(const ckpt_config_api* api, const ckpt_node* node) : m_api(api), m_node(node) {}

    bool present() const noexcept { return m_node != nullptr; }
    explicit operator bool() const noexcept { return present(); }
    ckpt_node_kind kind() const { return m_node ? m_api->kind(m_node) : -1; }
    bool is_null() const { return kind() == CKPT_NODE_NULL; }
    bool is_map() const { return kind() == CKPT_NODE_MAP; }
    bool is_list() const { return kind() == CKPT_NODE_LIST; }

    bool as_bool() const { int32_t v = 0; check_get(m_api->get_bool(need(), &v), "a boolean"); return v != 0; }
    int64_t as_int() const { int64_t v = 0; check_get(m_api->get_int(need(), &v), "an integer"); return v; }
    double as_float() const { double v = 0; check_get(m_api->get_float(need(), &v), "a number"); return v; }
    std::string as_string() const
    {
        ckpt_str s{};
        check_get(m_api->get_string(need(), &s), "a string");
        return from_str(s);
    }

    size_t size() const { return m_node ? m_api->size(m_node) : 0; }
    ConstNode at(size_t i) const { return {m_api, m_node ? m_api->list_at(m_node, i) : nullptr}; }
    std::string key_at(size_t i) const { return from_str(m_api->map_key_at(need(), i)); }
    ConstNode value_at(size_t i) const { return {m_api, m_api->map_value_at(need(), i)}; }
    /// The entry under `key`, absent when missing or when this is not a map.
    ConstNode operator[](std::string_view key) const
    {
        if (!m_node)
            return {};
        return {m_api, m_api->map_find(m_node, ckpt_str{key.data(), key.size()})};
    }
    bool has(std::string_view key) const { return (*this)[key].present(); }

    const ckpt_node* raw() const noexcept { return m_node; }
    const ckpt_config_api* api() const noexcept { return m_api; }

protected:
    const ckpt_node* need() const
    {
        if (!m_node)
            throw Error(CKPT_ERR_NOT_FOUND, "config value is missing");
        return m_node;
    }
    static void check_get(ckpt_status st, const char* expected)
    {
        if (st != CKPT_OK)
            throw Error(st, std::string("config value is not ") + expected);
    }

    const ckpt_config_api* m_api = nullptr;
    const ckpt_node* m_node = nullptr;
};

/// Writable view of a config node.
class Node : public ConstNode {
public:
    Node() = default;
    Node(const ckpt_config_api* api, ckpt_node* node) : ConstNode(api, node) {}

    ckpt_node* raw_mut() const { return const_cast<ckpt_node*>(need()); }

    void set_null() const { check(m_api->set_null(raw_mut()), "set_null"); }
    void set(bool v) const { check(m_api->set_bool(raw_mut(), v ? 1 : 0), "set_bool"); }
    void set(int v) const { set(static_cast<int64_t>(v)); }
    void set(int64_t v) const { check(m_api->set_int(raw_mut(), v), "set_int"); }
    void set(double v) const { check(m_api->set_float(raw_mut(), v), "set_float"); }
    void set(std::string_view v) const
    {
        check(m_api->set_string(raw_mut(), ckpt_str{v.data(), v.size()}), "set_string");
    }
    void set(const char* v) const { set(std::string_view(v)); }
    void make_map() const { check(m_api->set_map(raw_mut()), "set_map"); }
    void make_list() const { check(m_api->set_list(raw_mut()), "set_list"); }
    void assign(const ConstNode& src) const { check(m_api->assign(raw_mut(), src.raw()), "assign"); }

    /// The entry under `key`, created (as null) when absent. Throws if this is not a map.
    Node entry(std::string_view key) const
    {
        ckpt_node* n = m_api->map_get_or_insert(raw_mut(), ckpt_str{key.data(), key.size()});
        if (!n)
            throw Error(CKPT_ERR_TYPE, "config node is not a map");
        return {m_api, n};
    }
    Node find_mut(std::string_view key) const
    {
        return {m_api, m_api->map_find_mut(raw_mut(), ckpt_str{key.data(), key.size()})};
    }
    bool erase(std::string_view key) const
    {
        return m_api->map_erase(raw_mut(), ckpt_str{key.data(), key.size()}) == CKPT_OK;
    }
    Node append() const
    {
        ckpt_node* n = m_api->list_append(raw_mut());
        if (!n)
            throw Error(CKPT_ERR_TYPE, "config node is not a list");
        return {m_api, n};
    }
};

/// A host-owned scratch tree (an empty map at first), destroyed with this object.
class ScratchTree {
public:
    explicit ScratchTree(const ckpt_config_api* api) : m_api(api), m_root(api->tree_create())
    {
        if (!m_root)
            throw Error(CKPT_ERR_NO_MEMORY, "cannot create a scratch config tree");
    }
    ~ScratchTree() { m_api->tree_destroy(m_root); }
    ScratchTree(const ScratchTree&) = delete;
    ScratchTree& operator=(const ScratchTree&) = delete;
    Node root() const { return {m_api, m_root}; }

private:
    const ckpt_config_api* m_api;
    ckpt_node* m_root;
};

} // namespace ckpt::sdk
