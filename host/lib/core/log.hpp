// SPDX-License-Identifier: Apache-2.0
// Logging to stderr with a process-wide verbosity (-q / -v); stdout is kept for results.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace ckpt::log {

enum class Level : int { debug = 0, info = 1, warning = 2, error = 3, quiet = 4 };

/// Messages below this level are not printed. Default: info.
void set_level(Level level);
Level level();

/// From now on, also appends every warning written to `into` (for results a script reads:
/// `--json`); nullptr stops. `into` must outlive the recording. Thread safe.
void keep_warnings(std::vector<std::string>* into);

/// Sets the level for its lifetime (and restores the one before).
class ScopedLevel {
public:
    explicit ScopedLevel(Level l) : m_saved(level()) { set_level(l); }
    ~ScopedLevel() { set_level(m_saved); }
    ScopedLevel(const ScopedLevel&) = delete;
    ScopedLevel& operator=(const ScopedLevel&) = delete;

private:
    Level m_saved;
};

/// Keeps the warnings written during its lifetime (when `enabled`), for `--json` results.
class WarningCapture {
public:
    explicit WarningCapture(bool enabled)
    {
        if (enabled)
            keep_warnings(&m_warnings);
    }
    ~WarningCapture() { keep_warnings(nullptr); }
    WarningCapture(const WarningCapture&) = delete;
    WarningCapture& operator=(const WarningCapture&) = delete;
    const std::vector<std::string>& warnings() const { return m_warnings; }

private:
    std::vector<std::string> m_warnings;
};

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
