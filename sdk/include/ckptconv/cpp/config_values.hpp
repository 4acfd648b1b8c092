// SPDX-License-Identifier: Apache-2.0
// Typed config reads in the older wording of the esm2, clip_vit, mixtral and bert plugins (errors
// name the key); release names, format lists and the newer readers are in family.hpp.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ckpt::sdk {

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

} // namespace ckpt::sdk
