// SPDX-License-Identifier: Apache-2.0
// The services table (ckpt_host) the host hands to every plugin, and the config API over Node.
#pragma once

#include "core/node.hpp"

#include <ckptconv/plugin.h>

#include <string>

namespace ckpt::host {

/// The one ckpt_host of this process. Lives until exit.
const ckpt_host* services();

/// The config API implemented over ckpt::Node (a ckpt_node* is a Node*).
const ckpt_config_api* config_api();

inline ckpt_node* to_abi(Node* n) { return reinterpret_cast<ckpt_node*>(n); }
inline const ckpt_node* to_abi(const Node* n) { return reinterpret_cast<const ckpt_node*>(n); }

/// Installs the plan API (provided by the engine) into the services table.
void set_plan_api(const ckpt_plan_api* api);

/// Takes the message a plugin handed to set_error on this thread since the last call (empty if
/// none). Call it before an ABI call to clear, and after a failing one to read.
std::string take_plugin_error();

} // namespace ckpt::host
