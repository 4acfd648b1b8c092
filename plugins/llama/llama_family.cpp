// SPDX-License-Identifier: Apache-2.0
// Family facts shared by the llama plugin's converters.
#include "llama_family.hpp"

#include <ckptconv/cpp/error.hpp>

#include <cmath>
#include <cstdio>

namespace ckpt::llama {

std::string Variant::hf_class() const
{
    std::string base = mistral ? "Mistral" : "Llama";
    return base + (headless ? "Model" : "ForCausalLM");
}

const std::vector<std::string>& hf_cs_formats()
{
    static const std::vector<std::string> formats{"cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4", "cs-2.5",
                                                  "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"};
    return formats;
}

std::optional<std::pair<int, int>> cs_version(const std::string& fmt)
{
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2)
        return std::nullopt;
    return std::make_pair(major, minor);
}

int64_t config_int(const sdk::ConstNode& config, const std::string& key, const char* side)
{
    sdk::ConstNode n = config[key];
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int();
    if (n.kind() == CKPT_NODE_FLOAT) {
        const double v = n.as_float();
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
            return static_cast<int64_t>(v);
    }
    throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, std::string(side) + " config: '" + key +
                                                     "' must be an integer, found " +
                                                     (n.present() ? "another kind of value" : "nothing"));
}

double config_float_or(const sdk::ConstNode& config, const std::string& key, double fallback)
{
    sdk::ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() == CKPT_NODE_BOOL)
        return n.as_bool() ? 1.0 : 0.0;
    if (n.kind() != CKPT_NODE_INT && n.kind() != CKPT_NODE_FLOAT)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "config: '" + key + "' must be a number");
    return n.as_float();
}

std::string config_string_or(const sdk::ConstNode& config, const std::string& key, const std::string& fallback)
{
    sdk::ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() != CKPT_NODE_STRING)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "config: '" + key + "' must be a string");
    return n.as_string();
}

bool config_bool_or(const sdk::ConstNode& config, const std::string& key, bool fallback)
{
    sdk::ConstNode n = config[key];
    if (!n.present() || n.is_null())
        return fallback;
    if (n.kind() == CKPT_NODE_INT)
        return n.as_int() != 0;
    if (n.kind() != CKPT_NODE_BOOL)
        throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "config: '" + key + "' must be a boolean");
    return n.as_bool();
}

} // namespace ckpt::llama
