// SPDX-License-Identifier: Apache-2.0
// Entry point of the t5 plugin: model `t5` and its aliases `transformer`, `ul2`, `flan-ul2`,
// with the converters in the Model Zoo 2.10 registry order (spec/mappings.md §4.1).
#include "t5.hpp"

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::t5;
    def.info("t5", "1.0", "T5 (T5ForConditionalGeneration) between Hugging Face and Cerebras Model Zoo releases");
    // One converter list for all four names, as the Model Zoo's registry shares one list object.
    // The host's generic release steps cover every CS pair not listed here.
    def.model("t5", {"transformer", "ul2", "flan-ul2"})
        .registry_name(registry_name("transformer"), "transformer")
        .add(make_cs16_cs17())
        .add(make_cs16_cs18())
        .add(make_cs17_cs18())
        .add(make_cs18_cs20())
        .add(make_cs20_cs21())
        .add(make_hf_converter(false))
        .add(make_hf_converter(true));
}
