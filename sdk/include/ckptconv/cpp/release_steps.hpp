// SPDX-License-Identifier: Apache-2.0
// Helpers for CS -> CS release-step converters, where most of a model config carries over and a
// few keys change between releases.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/value.hpp>

#include <string>

namespace ckpt::sdk {

/// Copies the model section key by key into `dst`; `rewrite(key, value)` returns true when it
/// handled (or dropped) the key itself.
template <class Fn>
void copy_config(ConstNode src, Node dst, Fn&& rewrite)
{
    for (size_t i = 0; i < src.size(); ++i) {
        const std::string key = src.key_at(i);
        if (!rewrite(key, src.value_at(i)))
            dst.entry(key).assign(src.value_at(i));
    }
}

/// The precision key change between cs-2.0 (`use_bfloat16`) and cs-2.1 (`fp16_type`), for use
/// inside a copy_config rewrite: `up` is cs-2.0 -> cs-2.1. Returns true when it handled `key`.
/// A cs-2.1 fp16_type cs-2.0 cannot express raises ConfigConversionError.
inline bool rewrite_fp16_type(bool up, const std::string& key, ConstNode v, Node dst)
{
    if (up && key == "use_bfloat16") {
        dst.entry("fp16_type").set(Value::read(v) == Value(true) ? "bfloat16" : "float16");
        return true;
    }
    if (!up && key == "fp16_type") {
        const Value t = Value::read(v);
        if (t != Value("bfloat16") && t != Value("cbfloat16") && t != Value("float16"))
            throw ConfigConversionError("Can't convert config with fp16_type=" + t.str() +
                                        " to cs-2.0. Only ['bfloat16', 'cbfloat16', 'float16'] is supported.");
        dst.entry("use_bfloat16").set(t != Value("float16"));
        return true;
    }
    return false;
}

/// The cs-1.9 -> cs-2.0 norm change: a boolean `flag_key` (`use_rms_norm`, `use_t5_layer_norm`)
/// becomes `norm_type` rmsnorm / layernorm. For use inside a copy_config rewrite; returns true
/// when it handled `key`. A non-boolean value raises ConfigConversionError.
inline bool rewrite_norm_flag(const std::string& flag_key, const std::string& key, ConstNode v, Node dst)
{
    if (key != flag_key)
        return false;
    const Value flag = Value::read(v);
    if (flag != Value(true) && flag != Value(false))
        throw ConfigConversionError("Can't convert config with " + flag_key + "=" + flag.str() +
                                    ". Only True, False is supported.");
    dst.entry("norm_type").set(flag == Value(true) ? "rmsnorm" : "layernorm");
    return true;
}

} // namespace ckpt::sdk
