// SPDX-License-Identifier: Apache-2.0
// Host exceptions: every failure carries the exit code the CLI maps it to (design.md §5).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace ckpt {

/// Process exit codes (design.md §5).
enum class ExitCode : int {
    ok = 0,
    conversion_failed = 1, // a conversion or comparison that could not be done or did not match
    usage = 2,             // bad command line
    plugin = 3,            // plugin or ABI problem
    input = 4,             // I/O error or bad input file
};

/// Base of every host exception. `what()` is the complete message shown to the user.
class Error : public std::runtime_error {
public:
    Error(ExitCode code, std::string message) : std::runtime_error(std::move(message)), m_code(code) {}
    ExitCode code() const noexcept { return m_code; }

private:
    ExitCode m_code;
};

/// A malformed, truncated or unreadable input file, or an output that cannot be written.
class InputError : public Error {
public:
    explicit InputError(std::string message) : Error(ExitCode::input, std::move(message)) {}
};

/// A bad command line.
class UsageError : public Error {
public:
    explicit UsageError(std::string message) : Error(ExitCode::usage, std::move(message)) {}
};

/// A plugin that cannot be loaded or misbehaves.
class PluginError : public Error {
public:
    explicit PluginError(std::string message) : Error(ExitCode::plugin, std::move(message)) {}
};

/// A conversion that cannot be carried out (unsupported pair, unmatched keys, config error).
class ConversionError : public Error {
public:
    explicit ConversionError(std::string message)
        : Error(ExitCode::conversion_failed, std::move(message)) {}
};

/// Throws InputError with a fmt-formatted message.
template <class... Args>
[[noreturn]] void throw_input(fmt::format_string<Args...> f, Args&&... args)
{
    throw InputError(fmt::format(f, std::forward<Args>(args)...));
}

} // namespace ckpt
