// SPDX-License-Identifier: Apache-2.0
// Entry point of the gpt2 plugin: models `gpt2` and `gpt2-headless` with their converters in
// the Model Zoo 2.10 registry order, format groups and notes (spec/mappings.md §4.1).
#include "gpt2.hpp"

#include <cstdio>

namespace ckpt::gpt2 {

std::vector<std::string> cs21_plus_formats()
{
    return {"cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"};
}

int cs_version(const std::string& fmt)
{
    int major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(fmt.c_str(), "cs-%d.%d%c", &major, &minor, &tail) != 2 || major < 0 || minor < 0 || minor > 99)
        return -1;
    return major * 100 + minor;
}

} // namespace ckpt::gpt2

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::gpt2;
    def.info("gpt2", "1.0", "GPT-2 (GPT2LMHeadModel, GPT2Model) between Hugging Face and Cerebras Model Zoo releases");
    // The HF converter comes last, as in the Model Zoo's list; the host's generic release steps
    // cover every CS pair not listed here.
    def.model("gpt2")
        .add(make_cs18_cs20())
        .add(make_cs20_cs21())
        .add(make_cs22_cs23())
        .add(make_hf_converter(true));
    def.model("gpt2-headless").registry_name(kRegistryName).add(make_hf_converter(false));
}
