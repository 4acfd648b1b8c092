// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the YAML config reader and PyYAML-compatible writer: any bytes must either
// parse into a map or throw InputError, and whatever parses must dump and re-read to the same text.
#include "config/json_config.hpp"
#include "config/yaml_config.hpp"
#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    ckpt::Node config;
    try {
        config = ckpt::parse_yaml_config(text, "fuzz.yaml");
    } catch (const ckpt::InputError&) {
        return 0;
    }
    if (!config.is_map())
        std::abort();
    for (const ckpt::YamlStyle& style : {ckpt::kModelZooYaml, ckpt::kUnsortedYaml}) {
        const std::string once = ckpt::format_yaml_config(config, style);
        const std::string twice = ckpt::format_yaml_config(ckpt::parse_yaml_config(once, "fuzz-dumped.yaml"), style);
        if (once != twice)
            std::abort();
    }
    try {
        (void)ckpt::format_json_config(config);
    } catch (const ckpt::InputError&) {
        // Keys JSON cannot hold; YAML can.
    }
    return 0;
}
