// SPDX-License-Identifier: Apache-2.0
// Entry point of the esm2 plugin: `esm-2` with the Model Zoo 2.10 converter and note; every CS
// release step is the host's generic one (the Model Zoo registers no ESM-2 CS -> CS converter).
#include "esm2.hpp"

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::esm2;
    def.info("esm2", "1.0", "ESM-2 protein language models between Hugging Face and Cerebras Model Zoo releases");
    def.model("esm-2").registry_name(kRegistryName).add(make_hf_converter(ckpt::sdk::cs_formats({2, 1})));
}
