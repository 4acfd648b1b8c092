// SPDX-License-Identifier: Apache-2.0
// The one way the host calls into a plugin: clear the error channel, call, and turn a failure
// status into a PluginCallError that names the plugin and carries its message.
#pragma once

#include "core/error.hpp"
#include "plugins/host_services.hpp"

#include <ckptconv/types.h>

#include <string>
#include <string_view>
#include <utility>

namespace ckpt::host {

/// A plugin call that returned a failure. `what()` is "<context>: the <plugin> plugin failed
/// (<status>): <reason>". The exit code follows the status: the model or config cannot be
/// converted (INVALID_ARGUMENT, NOT_FOUND, TYPE, UNSUPPORTED, CONFIG_CONVERSION) -> 1; the input
/// is bad or the system refused (BAD_INPUT, IO, NO_MEMORY) -> 4; INTERNAL or a status this host
/// does not know is a plugin fault -> 3.
class PluginCallError : public Error {
public:
    PluginCallError(std::string plugin, ckpt_status status, std::string reason, std::string_view context);
    const std::string& plugin() const noexcept { return m_plugin; }
    ckpt_status status() const noexcept { return m_status; }
    /// The plugin's (or the refusing host service's) message alone; may be empty.
    const std::string& reason() const noexcept { return m_reason; }

private:
    std::string m_plugin;
    ckpt_status m_status;
    std::string m_reason;
};

/// The exit code a failure status maps to (see PluginCallError).
ExitCode exit_code_for_status(ckpt_status status);

/// "CKPT_ERR_NOT_FOUND" for a status ("status 42" for an unknown one).
std::string status_name(ckpt_status status);

/// Calls `fn` (which calls one plugin function and returns its ckpt_status) with this thread's
/// error channel cleared; on failure throws PluginCallError for `plugin` with `context` (what the
/// host was doing, e.g. "converting the config from hf to cs-2.1"). A host service's refusal
/// during the call is the reason given, being more precise than the plugin's summary of it.
template <class Fn>
void call_plugin(std::string_view plugin, std::string_view context, Fn&& fn)
{
    take_plugin_failure();
    const ckpt_status st = std::forward<Fn>(fn)();
    if (st == 0)
        return;
    PluginFailure f = take_plugin_failure();
    throw PluginCallError(std::string(plugin), st,
                          f.host_refusal.empty() ? std::move(f.plugin_message) : std::move(f.host_refusal), context);
}

} // namespace ckpt::host
