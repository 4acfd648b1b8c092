// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the JSON config reader and writer: any bytes must either parse into a map
// or throw InputError, and whatever parses must write and re-read to the same text.
#include "config/json_config.hpp"
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
        config = ckpt::parse_json_config(text, "fuzz.json");
    } catch (const ckpt::InputError&) {
        return 0;
    }
    if (!config.is_map())
        std::abort();
    // The reader only produces strings that are valid UTF-8, so writing cannot fail.
    const std::string once = ckpt::format_json_config(config);
    const std::string twice = ckpt::format_json_config(ckpt::parse_json_config(once, "fuzz-rewritten.json"));
    if (once != twice)
        std::abort();
    (void)ckpt::format_json_config(config, ckpt::kHuggingFaceJson);
    return 0;
}
