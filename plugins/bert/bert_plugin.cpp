// SPDX-License-Identifier: Apache-2.0
// Entry point of the bert plugin: bert, its fine-tune models and roberta, with their converters
// in the Model Zoo 2.10 registry order, format groups and notes (spec/mappings.md §4.1).
#include "bert.hpp"

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::bert;
    def.info("bert", "1.0",
             "BERT (pretraining and fine-tune heads) and RoBERTa between Hugging Face and Cerebras Model Zoo releases");
    auto cs17_cs18 = make_cs17_cs18();
    auto cs20_cs21 = make_cs20_cs21();
    auto ft16_17 = make_cs16_converter(true, true);
    auto ft16_18 = make_cs16_converter(true, false);

    def.model("bert")
        .add(make_hf_converter(Variant::pretrain, {"cs-2.1", "cs-2.2"}))
        .add(make_hf_converter(Variant::pretrain, ckpt::sdk::cs_formats({2, 3})))
        .add(make_cs16_converter(false, true))
        .add(make_cs16_converter(false, false))
        .add(cs17_cs18)
        .add(make_cs18_cs20())
        .add(cs20_cs21);
    def.model("bert-qa").registry_name(registry_name(Variant::question_answering)).add(ft16_17).add(ft16_18).add(cs17_cs18).add(cs20_cs21).add(
        make_hf_converter(Variant::question_answering, ckpt::sdk::cs_formats({2, 1})));
    def.model("bert-sequence-classifier")
        .registry_name(registry_name(Variant::sequence_classifier))
        .add(ft16_17)
        .add(ft16_18)
        .add(cs17_cs18)
        .add(cs20_cs21)
        .add(make_hf_converter(Variant::sequence_classifier, ckpt::sdk::cs_formats({2, 1})));
    def.model("bert-summarization").registry_name("bert/extractive_summarization").add(ft16_17).add(ft16_18).add(cs17_cs18).add(cs20_cs21);
    def.model("bert-token-classifier")
        .registry_name(registry_name(Variant::token_classifier))
        .add(ft16_17)
        .add(ft16_18)
        .add(cs17_cs18)
        .add(cs20_cs21)
        .add(make_hf_converter(Variant::token_classifier, ckpt::sdk::cs_formats({2, 1})));
    def.model("roberta").registry_name(registry_name(Variant::roberta)).add(make_hf_converter(Variant::roberta, ckpt::sdk::cs_formats({2, 1}))).add(cs20_cs21);
}
