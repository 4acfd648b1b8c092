// SPDX-License-Identifier: Apache-2.0
// Exceptions for plugin code and the guard that turns them into statuses at the ABI boundary.
#pragma once

#include <ckptconv/plugin.h>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

namespace ckpt::sdk {

/// Base of the exceptions plugin code throws; carries the ABI status to return.
class Error : public std::runtime_error {
public:
    Error(ckpt_status status, const std::string& message)
        : std::runtime_error(message), m_status(status) {}
    ckpt_status status() const noexcept { return m_status; }

private:
    ckpt_status m_status;
};

/// The Model Zoo's ConfigConversionError: the config cannot be expressed in the target format.
class ConfigConversionError : public Error {
public:
    explicit ConfigConversionError(const std::string& message)
        : Error(CKPT_ERR_CONFIG_CONVERSION, message) {}
};

/// Throws Error when `status` is not CKPT_OK (for calls into the host).
inline void check(ckpt_status status, const char* what)
{
    if (status != CKPT_OK)
        throw Error(status, std::string(what) + " failed");
}

inline ckpt_str to_str(const std::string& s) noexcept { return ckpt_str{s.data(), s.size()}; }
inline ckpt_str to_str(const char* s) noexcept
{
    return ckpt_str{s, s ? std::char_traits<char>::length(s) : 0};
}
inline std::string from_str(ckpt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

/// Runs `fn` and maps every exception to a status, handing its message to the host.
/// Use it in every function the host calls.
template <class Fn>
ckpt_status guard(const ckpt_host* host, Fn&& fn) noexcept
{
    auto report = [host](const char* msg) noexcept {
        if (host && host->set_error)
            host->set_error(host->ctx, to_str(msg));
    };
    try {
        fn();
        return CKPT_OK;
    } catch (const Error& e) {
        report(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        report("out of memory");
        return CKPT_ERR_NO_MEMORY;
    } catch (const std::exception& e) {
        report(e.what());
        return CKPT_ERR_INTERNAL;
    } catch (...) {
        report("unknown exception in plugin");
        return CKPT_ERR_INTERNAL;
    }
}

} // namespace ckpt::sdk
