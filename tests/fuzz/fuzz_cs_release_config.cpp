// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the whole-config release steps (runconfig, sparsity, optimizer renames, the
// trainer layout, muP keys): any parsed config either converts or throws ConversionError /
// InputError, and every result is a mapping that the YAML writer can print.
#include "config/cs_release_config.hpp"
#include "config/trainer_layout.hpp"
#include "config/yaml_config.hpp"
#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void check(const ckpt::Node& out)
{
    if (!out.is_map())
        std::abort();
    (void)ckpt::format_yaml_config(out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    ckpt::Node config;
    try {
        config = ckpt::parse_yaml_config(text, "fuzz.yaml");
    } catch (const ckpt::InputError&) {
        return 0;
    }
    static const char* const releases[] = {"cs-1.9", "cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4"};
    for (size_t i = 0; i + 1 < sizeof releases / sizeof *releases; ++i) {
        try {
            check(ckpt::finish_cs_release_step(config, releases[i], releases[i + 1], "gpt2", "fuzz.yaml"));
        } catch (const ckpt::Error&) {
        }
    }
    try {
        check(ckpt::finish_cs_release_step(config, "cs-1.9", "cs-2.4", "gpt2", "fuzz.yaml"));
    } catch (const ckpt::Error&) {
    }
    try {
        check(ckpt::legacy_to_trainer_config(config, "fuzz.yaml"));
    } catch (const ckpt::Error&) {
    }
    if (ckpt::Node* model = config.find("model")) {
        ckpt::Node section = *model;
        try {
            (void)ckpt::upgrade_cs22_mup_config(config, section, "cs-2.2", "cs-2.3", "fuzz.yaml");
        } catch (const ckpt::Error&) {
        }
    }
    return 0;
}
