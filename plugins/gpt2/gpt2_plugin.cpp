// SPDX-License-Identifier: Apache-2.0
// Entry point of the gpt2 plugin: models `gpt2` and `gpt2-headless` with their converters in
// the Model Zoo 2.10 registry order, format groups and notes (spec/mappings.md §4.1).
#include "gpt2.hpp"

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt;
    def.info("gpt2", "1.0", "GPT-2 (GPT2LMHeadModel, GPT2Model) between Hugging Face and Cerebras Model Zoo releases");
    // Converter_GPT2LMHeadModel_CS18_CS20: cs-1.8, cs-1.9 <-> cs-2.0, stricter than the other
    // families' step and logging its tie repairs.
    auto cs18_cs20 = std::make_shared<sdk::DecoderCs19Cs20>(std::vector<std::string>{"cs-1.8", "cs-1.9"},
                                                            "GPT2LMHeadModel class", "use_rms_norm", "rmsnorm");
    cs18_cs20->norm_type_default = true;
    cs18_cs20->strict_flag = true;
    cs18_cs20->log_repairs = true;
    // The HF converter comes last, as in the Model Zoo's list; the host's generic release steps
    // cover every CS pair not listed here.
    def.model("gpt2")
        .add(cs18_cs20)
        .add(std::make_shared<sdk::DecoderCs20Cs21>("GPT2LMHeadModel class"))
        .add(gpt2::make_cs22_cs23())
        .add(gpt2::make_hf_converter(true));
    def.model("gpt2-headless").registry_name(gpt2::kRegistryName).add(gpt2::make_hf_converter(false));
}
