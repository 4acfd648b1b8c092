// SPDX-License-Identifier: Apache-2.0
// The host error for a failed plugin call, and how its status maps to an exit code.
#include "plugins/plugin_call.hpp"

#include <fmt/format.h>

namespace ckpt::host {

ExitCode exit_code_for_status(ckpt_status status)
{
    switch (status) {
    case CKPT_ERR_INVALID_ARGUMENT: // e.g. a config value the family rejects
    case CKPT_ERR_NOT_FOUND:
    case CKPT_ERR_TYPE:
    case CKPT_ERR_UNSUPPORTED:
    case CKPT_ERR_CONFIG_CONVERSION: return ExitCode::conversion_failed;
    case CKPT_ERR_BAD_INPUT:
    case CKPT_ERR_IO:
    case CKPT_ERR_NO_MEMORY: return ExitCode::input;
    default: return ExitCode::plugin;
    }
}

std::string status_name(ckpt_status status)
{
    // Indexed by status (types.h).
    static const char* const names[] = {
        "CKPT_OK",         "CKPT_ERR_INVALID_ARGUMENT", "CKPT_ERR_NOT_FOUND",   "CKPT_ERR_TYPE",
        "CKPT_ERR_CONFIG_CONVERSION", "CKPT_ERR_UNSUPPORTED", "CKPT_ERR_BAD_INPUT", "CKPT_ERR_IO",
        "CKPT_ERR_NO_MEMORY", "CKPT_ERR_INTERNAL"};
    if (status >= 0 && status <= CKPT_ERR_INTERNAL)
        return names[status];
    return fmt::format("status {}", status);
}

PluginCallError::PluginCallError(std::string plugin, ckpt_status status, std::string reason, std::string_view context)
    : Error(exit_code_for_status(status),
            fmt::format("{}: {} failed ({}): {}", context,
                        plugin.empty() ? std::string("a plugin") : fmt::format("the {} plugin", plugin),
                        status_name(status), reason.empty() ? "it gave no reason" : reason)),
      m_plugin(std::move(plugin)), m_status(status), m_reason(std::move(reason))
{
}

} // namespace ckpt::host
