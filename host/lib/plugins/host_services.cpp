// SPDX-License-Identifier: Apache-2.0
// The services table the host hands to plugins, and the config API over ckpt::Node.
#include "plugins/host_services.hpp"

#include "core/log.hpp"

#include <atomic>
#include <limits>

namespace ckpt::host {

namespace {

thread_local PluginFailure t_failure;

std::string_view view(ckpt_str s) { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }

void host_log(void*, int32_t level, ckpt_str message) noexcept
{
    try {
        switch (level) {
        case CKPT_LOG_DEBUG: log::debug("{}", view(message)); break;
        case CKPT_LOG_INFO: log::info("{}", view(message)); break;
        case CKPT_LOG_WARNING: log::warning("{}", view(message)); break;
        default: log::error("{}", view(message)); break;
        }
    } catch (...) {
    }
}

void host_set_error(void*, ckpt_str message) noexcept
{
    try {
        t_failure.plugin_message.assign(view(message));
    } catch (...) {
    }
}

// --- config API over Node -------------------------------------------------------------------

const Node* N(const ckpt_node* n) { return reinterpret_cast<const Node*>(n); }
Node* N(ckpt_node* n) { return reinterpret_cast<Node*>(n); }

ckpt_node_kind cfg_kind(const ckpt_node* n) noexcept
{
    if (!n)
        return CKPT_NODE_NULL;
    switch (N(n)->kind()) {
    case Node::Kind::boolean: return CKPT_NODE_BOOL;
    case Node::Kind::integer: return CKPT_NODE_INT;
    case Node::Kind::floating: return CKPT_NODE_FLOAT;
    case Node::Kind::string:
    case Node::Kind::bytes: return CKPT_NODE_STRING;
    case Node::Kind::list:
    case Node::Kind::tuple: return CKPT_NODE_LIST;
    case Node::Kind::map: return CKPT_NODE_MAP;
    default: return CKPT_NODE_NULL;
    }
}

ckpt_status cfg_get_bool(const ckpt_node* n, int32_t* out) noexcept
{
    if (!n || !out)
        return CKPT_ERR_INVALID_ARGUMENT;
    if (N(n)->kind() != Node::Kind::boolean)
        return CKPT_ERR_TYPE;
    *out = N(n)->as_bool() ? 1 : 0;
    return CKPT_OK;
}

ckpt_status cfg_get_int(const ckpt_node* n, int64_t* out) noexcept
{
    if (!n || !out)
        return CKPT_ERR_INVALID_ARGUMENT;
    if (N(n)->kind() != Node::Kind::integer)
        return CKPT_ERR_TYPE;
    *out = N(n)->as_int();
    return CKPT_OK;
}

ckpt_status cfg_get_float(const ckpt_node* n, double* out) noexcept
{
    if (!n || !out)
        return CKPT_ERR_INVALID_ARGUMENT;
    auto k = N(n)->kind();
    if (k != Node::Kind::integer && k != Node::Kind::floating)
        return CKPT_ERR_TYPE;
    *out = N(n)->as_float();
    return CKPT_OK;
}

ckpt_status cfg_get_string(const ckpt_node* n, ckpt_str* out) noexcept
{
    if (!n || !out)
        return CKPT_ERR_INVALID_ARGUMENT;
    auto k = N(n)->kind();
    if (k != Node::Kind::string && k != Node::Kind::bytes)
        return CKPT_ERR_TYPE;
    const std::string& s = N(n)->as_string();
    *out = ckpt_str{s.data(), s.size()};
    return CKPT_OK;
}

size_t cfg_size(const ckpt_node* n) noexcept { return n ? N(n)->size() : 0; }

const ckpt_node* cfg_list_at(const ckpt_node* n, size_t i) noexcept
{
    if (!n || !N(n)->is_sequence() || i >= N(n)->size())
        return nullptr;
    return to_abi(&N(n)->items()[i]);
}

ckpt_str cfg_map_key_at(const ckpt_node* n, size_t i) noexcept
{
    if (!n || !N(n)->is_map() || i >= N(n)->size())
        return ckpt_str{nullptr, 0};
    const Node& key = N(n)->entries()[i].first;
    if (key.kind() != Node::Kind::string)
        return ckpt_str{nullptr, 0};
    return ckpt_str{key.as_string().data(), key.as_string().size()};
}

const ckpt_node* cfg_map_value_at(const ckpt_node* n, size_t i) noexcept
{
    if (!n || !N(n)->is_map() || i >= N(n)->size())
        return nullptr;
    return to_abi(&N(n)->entries()[i].second);
}

const ckpt_node* cfg_map_find(const ckpt_node* n, ckpt_str key) noexcept
{
    if (!n)
        return nullptr;
    return to_abi(N(n)->find(view(key)));
}

template <class Fn>
ckpt_status mutate(ckpt_node* n, Fn&& fn) noexcept
{
    if (!n)
        return CKPT_ERR_INVALID_ARGUMENT;
    try {
        fn(*N(n));
        return CKPT_OK;
    } catch (...) {
        return CKPT_ERR_NO_MEMORY;
    }
}

ckpt_status cfg_set_null(ckpt_node* n) noexcept { return mutate(n, [](Node& x) { x = Node(); }); }
ckpt_status cfg_set_bool(ckpt_node* n, int32_t v) noexcept { return mutate(n, [v](Node& x) { x = Node(v != 0); }); }
ckpt_status cfg_set_int(ckpt_node* n, int64_t v) noexcept { return mutate(n, [v](Node& x) { x = Node(v); }); }
ckpt_status cfg_set_float(ckpt_node* n, double v) noexcept { return mutate(n, [v](Node& x) { x = Node(v); }); }
ckpt_status cfg_set_string(ckpt_node* n, ckpt_str v) noexcept
{
    return mutate(n, [v](Node& x) { x = Node(std::string(view(v))); });
}
ckpt_status cfg_set_list(ckpt_node* n) noexcept { return mutate(n, [](Node& x) { x = Node::list(); }); }
ckpt_status cfg_set_map(ckpt_node* n) noexcept { return mutate(n, [](Node& x) { x = Node::map(); }); }

ckpt_node* cfg_map_get_or_insert(ckpt_node* n, ckpt_str key) noexcept
{
    if (!n || !N(n)->is_map())
        return nullptr;
    try {
        if (Node* existing = N(n)->find(view(key)))
            return to_abi(existing);
        return to_abi(&N(n)->set(view(key), Node()));
    } catch (...) {
        return nullptr;
    }
}

ckpt_node* cfg_map_find_mut(ckpt_node* n, ckpt_str key) noexcept
{
    if (!n)
        return nullptr;
    return to_abi(N(n)->find(view(key)));
}

ckpt_status cfg_map_erase(ckpt_node* n, ckpt_str key) noexcept
{
    if (!n)
        return CKPT_ERR_INVALID_ARGUMENT;
    if (!N(n)->is_map())
        return CKPT_ERR_TYPE;
    return N(n)->erase(view(key)) ? CKPT_OK : CKPT_ERR_NOT_FOUND;
}

ckpt_node* cfg_list_append(ckpt_node* n) noexcept
{
    if (!n || !N(n)->is_sequence())
        return nullptr;
    try {
        N(n)->items().emplace_back();
        return to_abi(&N(n)->items().back());
    } catch (...) {
        return nullptr;
    }
}

ckpt_node* cfg_list_at_mut(ckpt_node* n, size_t i) noexcept
{
    if (!n || !N(n)->is_sequence() || i >= N(n)->size())
        return nullptr;
    return to_abi(&N(n)->items()[i]);
}

ckpt_status cfg_assign(ckpt_node* dst, const ckpt_node* src) noexcept
{
    if (!dst || !src)
        return CKPT_ERR_INVALID_ARGUMENT;
    return mutate(dst, [src](Node& x) {
        Node copy = *N(src); // copy first: src may live inside dst
        x = std::move(copy);
    });
}

ckpt_node* cfg_tree_create() noexcept
{
    try {
        return to_abi(new Node(Node::map()));
    } catch (...) {
        return nullptr;
    }
}

void cfg_tree_destroy(ckpt_node* root) noexcept { delete N(root); }

const ckpt_config_api kConfigApi = {
    sizeof(ckpt_config_api),
    cfg_kind, cfg_get_bool, cfg_get_int, cfg_get_float, cfg_get_string, cfg_size, cfg_list_at,
    cfg_map_key_at, cfg_map_value_at, cfg_map_find,
    cfg_set_null, cfg_set_bool, cfg_set_int, cfg_set_float, cfg_set_string, cfg_set_list,
    cfg_set_map, cfg_map_get_or_insert, cfg_map_find_mut, cfg_map_erase, cfg_list_append,
    cfg_list_at_mut, cfg_assign, cfg_tree_create, cfg_tree_destroy,
};

ckpt_host g_host = {
    sizeof(ckpt_host), static_cast<uint32_t>(CKPT_ABI_VERSION), nullptr, host_log, host_set_error,
    &kConfigApi, nullptr,
};

} // namespace

const ckpt_host* services() { return &g_host; }
const ckpt_config_api* config_api() { return &kConfigApi; }
void set_plan_api(const ckpt_plan_api* api) { g_host.plan = api; }

PluginFailure take_plugin_failure()
{
    PluginFailure f = std::move(t_failure);
    t_failure = PluginFailure{};
    return f;
}

void note_host_refusal(std::string_view message) noexcept
{
    try {
        t_failure.host_refusal.assign(message);
    } catch (...) {
    }
}

} // namespace ckpt::host
