// SPDX-License-Identifier: Apache-2.0
// Entry point of the mixtral plugin: `mixtral` and `mixtral-headless` with the Model Zoo 2.10
// converters and notes; every CS release step (cs-2.3 and later) is the host's generic one.
#include "mixtral.hpp"

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::mixtral;
    def.info("mixtral", "1.0", "Mixtral mixture-of-experts decoders between Hugging Face and Cerebras Model Zoo releases");
    def.model("mixtral").add(make_hf_converter(false));
    // 2.10 has no registry alias for mixtral-headless; its CS model is the Mixtral one.
    def.model("mixtral-headless").registry_name(kRegistryName).add(make_hf_converter(true));
}
