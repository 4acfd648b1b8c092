// SPDX-License-Identifier: Apache-2.0
// The ckpt_plan_api function table plugins call, implemented over engine::Plan.
#pragma once

#include "engine/plan.hpp"

#include <ckptconv/plan.h>

namespace ckpt::engine {

/// The table (static storage, valid until exit). A ckpt_plan* is a Plan*. Every function is
/// noexcept; on failure it returns the SDK status and records the message as a host refusal in
/// the thread's plugin error channel (host::note_host_refusal; call_plugin() reports it when
/// plan_checkpoint fails). Structs from the plugin are read at any struct_size from ABI 1.0's
/// upward (host/lib/plugins/abi_struct.hpp). Kernels handed to `add` are released once the plan and every op
/// holding them are destroyed, including kernels of ops that `add` rejected. Names and shapes
/// returned by `input_info` and `value_info` stay valid as long as the plan lives.
const ckpt_plan_api* plan_api();

/// Installs plan_api() into the host services table (ckpt::host::services()). Call once at
/// startup, before any plugin plans a checkpoint; calling it again is harmless.
void install_plan_api();

inline ckpt_plan* to_abi(Plan* p) { return reinterpret_cast<ckpt_plan*>(p); }
inline const ckpt_plan* to_abi(const Plan* p) { return reinterpret_cast<const ckpt_plan*>(p); }

} // namespace ckpt::engine
