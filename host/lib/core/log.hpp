// SPDX-License-Identifier: Apache-2.0
// Logging to stderr with a process-wide verbosity (-q / -v); stdout is kept for results.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace ckpt::log {

enum class Level : int { debug = 0, info = 1, warning = 2, error = 3, quiet = 4 };

/// Messages below this level are not printed. Default: info.
void set_level(Level level);
Level level();

/// Writes one line to stderr (`WARNING ` / `ERROR ` prefixes as the Model Zoo prints them).
void write(Level level, std::string_view message);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args)
{
    if (level() <= Level::debug)
        write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args)
{
    if (level() <= Level::info)
        write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args)
{
    if (level() <= Level::warning)
        write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args)
{
    if (level() <= Level::error)
        write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace ckpt::log
