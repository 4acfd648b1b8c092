// SPDX-License-Identifier: Apache-2.0
// Release gates for CS config keys: the Model Zoo release each key first appears in, and what a
// config written for an older release does with the key (leave out a value that release means
// anyway, refuse any other), so that no release gets a key it would ignore.
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/value.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::sdk {

/// A Cerebras Model Zoo release, as the `cs-X.Y` format names it.
struct CsRelease {
    int major = 0;
    int minor = 0;

    /// The release of "cs-X.Y"; nullopt for anything else ("hf", "cs-2.3x", "cs-auto").
    static std::optional<CsRelease> parse(const std::string& fmt)
    {
        int major = 0, minor = 0;
        char tail = 0;
        if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2 || major < 0 || minor < 0)
            return std::nullopt;
        return CsRelease{major, minor};
    }

    bool operator<(const CsRelease& o) const { return major != o.major ? major < o.major : minor < o.minor; }
    /// "cs-2.4".
    std::string format() const { return "cs-" + std::to_string(major) + "." + std::to_string(minor); }
    /// The Model Zoo tag that introduced the release: "Release_2.4.0".
    std::string tag() const { return "Release_" + std::to_string(major) + "." + std::to_string(minor) + ".0"; }
};

/// One CS config key that older releases do not know (docs/config-keys-by-release.md lists
/// where each was found).
struct KeyGate {
    std::string key;  // a key of the CS model section
    CsRelease since;  // the first release whose Model Zoo knows it
    /// Values that mean what an older release does without the key: left out of an older config.
    /// Any other value is refused there, since the older release would ignore it and so train a
    /// different model.
    std::vector<Value> implied;
    /// The key only labels the config (`name`): left out of an older config whatever its value.
    bool label = false;
};

using KeyGates = std::vector<KeyGate>;

/// `name`, the model's registry name, which configs carry from Release_2.4.0 on
/// (BaseConfigConverter_HF_CS); a config for an older release is chosen by its model directory.
inline KeyGate registry_name_gate() { return {"name", {2, 4}, {}, true}; }

/// The rope scaling keys beside `pos_scaling_factor`: Release_2.4.0 adds `pos_scaling_type` and
/// `pos_scaling_extra_args`; 2.1 ... 2.3 know linear scaling only (the type left out there), so
/// yarn, longrope or llama3 scaling is refused for them.
inline KeyGates rope_scaling_gates()
{
    return {{"pos_scaling_type", {2, 4}, {Value("linear")}}, {"pos_scaling_extra_args", {2, 4}, {}}};
}

/// What a gate does with an implied value in a config for an older release.
enum class ImpliedValue {
    omit, // leave the key out (the older release's own converter never wrote it)
    keep, // write it as it is (the Model Zoo's own step to that release copies it)
};

/// Applies `gates` to the CS model section `dst` written for `tgt_fmt` (nothing when `tgt_fmt` is
/// not a `cs-X.Y` release). Gates are checked in order; the first key `dst` holds with a value
/// the target release cannot express raises ConfigConversionError naming the release that can.
inline void apply_release_gates(const KeyGates& gates, const std::string& tgt_fmt, const Node& dst,
                                ImpliedValue implied = ImpliedValue::omit)
{
    const auto target = CsRelease::parse(tgt_fmt);
    if (!target)
        return;
    for (const KeyGate& gate : gates) {
        if (!(*target < gate.since) || !dst.has(gate.key))
            continue;
        const Value v = Value::read(dst[gate.key]);
        bool is_implied = gate.label;
        for (const Value& i : gate.implied)
            is_implied = is_implied || v == i;
        if (!is_implied)
            throw ConfigConversionError("Can't convert config with " + gate.key + "=" + v.str() + " to " + tgt_fmt +
                                        ": the Model Zoo knows " + gate.key + " from " + gate.since.format() + " (" +
                                        gate.since.tag() + ") on. Convert to " + gate.since.format() +
                                        " or later instead.");
        if (gate.label || implied == ImpliedValue::omit)
            dst.erase(gate.key);
    }
}

} // namespace ckpt::sdk
