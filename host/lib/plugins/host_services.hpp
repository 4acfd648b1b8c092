// SPDX-License-Identifier: Apache-2.0
// The services table (ckpt_host) the host hands to every plugin, and the config API over Node.
#pragma once

#include "core/node.hpp"

#include <ckptconv/plugin.h>

#include <string>
#include <string_view>

namespace ckpt::host {

/// The one ckpt_host of this process. Lives until exit.
const ckpt_host* services();

/// The config API implemented over ckpt::Node (a ckpt_node* is a Node*).
const ckpt_config_api* config_api();

inline ckpt_node* to_abi(Node* n) { return reinterpret_cast<ckpt_node*>(n); }
inline const ckpt_node* to_abi(const Node* n) { return reinterpret_cast<const ckpt_node*>(n); }

/// Installs the plan API (provided by the engine) into the services table.
void set_plan_api(const ckpt_plan_api* api);

/// What went wrong in the plugin call on this thread: the message the plugin handed to
/// set_error, and the message of a host service (config or plan API) that refused one of the
/// plugin's requests during the call. The one error channel across the boundary; call_plugin()
/// (plugins/plugin_call.hpp) clears it before a call and reads it after a failing one.
struct PluginFailure {
    std::string plugin_message;
    std::string host_refusal;
};

/// Takes (and clears) this thread's PluginFailure.
PluginFailure take_plugin_failure();

/// Records why a host service refused a plugin's request (the precise message, kept even when the
/// plugin reports the failure in its own words). Never throws.
void note_host_refusal(std::string_view message) noexcept;

} // namespace ckpt::host
