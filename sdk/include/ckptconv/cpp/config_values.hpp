// SPDX-License-Identifier: Apache-2.0
// Typed reads of config entries and CS release names, with errors that name the key, so family
// plugins do not each write their own.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ckpt::sdk {

/// "cs-X.Y" as X*100+Y (cs-2.3 -> 203); -1 for anything else.
inline int cs_version(const std::string& fmt)
{
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2 || major < 0 || minor < 0 || minor > 99)
        return -1;
    return major * 100 + minor;
}

/// A required integer entry (integral floats accepted). Throws Error naming `side` ("HF", "CS")
/// and the key when it is missing or not an integer.
inline int64_t config_int(ConstNode config, const std::string& key, const char* side)
{
    ConstNode n = config[key];
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int();
    if (n.kind() == CKPT_NODE_FLOAT) {
        const double v = n.as_float();
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
            return static_cast<int64_t>(v);
    }
    throw Error(CKPT_ERR_INVALID_ARGUMENT, std::string(side) + " config key '" + key + "': expected an integer, found " +
                                               (n.present() ? Value::read(n).str() : "nothing"));
}

/// A string entry; `fallback` when missing or null. Throws Error naming the key for another kind.
inline std::string config_string_or(ConstNode config, const std::string& key, const std::string& fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() != CKPT_NODE_STRING)
        throw Error(CKPT_ERR_INVALID_ARGUMENT,
                    "config key '" + key + "': expected a string, found " + Value::read(n).str());
    return n.as_string();
}

/// A boolean entry as Python reads it (0/1 accepted); `fallback` when missing or null. Throws
/// Error naming the key for another kind.
inline bool config_bool_or(ConstNode config, const std::string& key, bool fallback)
{
    ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int() != 0;
    if (n.kind() != CKPT_NODE_BOOL)
        throw Error(CKPT_ERR_INVALID_ARGUMENT,
                    "config key '" + key + "': expected a boolean, found " + Value::read(n).str());
    return n.as_bool();
}

/// "cs-2.<first_minor>", ..., "cs-2.9": the CS releases a converter registered from 2.10 covers.
inline std::vector<std::string> cs_formats_from(int first_minor)
{
    std::vector<std::string> out;
    for (int m = first_minor; m <= 9; ++m)
        out.push_back("cs-2." + std::to_string(m));
    return out;
}

/// "a, b, c" (the Model Zoo's format lists in converter notes).
inline std::string joined(const std::vector<std::string>& items)
{
    std::string s;
    for (const auto& i : items)
        s += (s.empty() ? "" : ", ") + i;
    return s;
}

} // namespace ckpt::sdk
