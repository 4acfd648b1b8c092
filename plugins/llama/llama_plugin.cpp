// SPDX-License-Identifier: Apache-2.0
// Registers the llama family: llama (aliases llamaV2, code-llama, wizardlm), their headless
// forms, mistral and mistral-headless, with the Model Zoo 2.10 converters and notes.
#include "llama_cs_releases.hpp"
#include "llama_hf_cs.hpp"

#include <ckptconv/cpp/plugin.hpp>

CKPT_PLUGIN_DEFINE(def)
{
    using ckpt::llama::LlamaCs19Cs20;
    using ckpt::llama::LlamaCs20Cs21;
    using ckpt::llama::LlamaHfCs;
    using ckpt::llama::Variant;

    def.info("llama", "1.0", "LLaMA and Mistral (Hugging Face <-> Cerebras Model Zoo)");
    auto cs19 = std::make_shared<LlamaCs19Cs20>();
    auto cs20 = std::make_shared<LlamaCs20Cs21>();
    def.model("llama", {"llamaV2", "code-llama", "wizardlm"})
        .add(cs19)
        .add(cs20)
        .add(std::make_shared<LlamaHfCs>(Variant{false, false}));
    def.model("llama-headless", {"llamaV2-headless", "code-llama-headless", "wizardlm-headless"})
        .registry_name("llama")
        .add(std::make_shared<LlamaHfCs>(Variant{false, true}));
    def.model("mistral").add(std::make_shared<LlamaHfCs>(Variant{true, false}));
    def.model("mistral-headless").registry_name("mistral").add(std::make_shared<LlamaHfCs>(Variant{true, true}));
}
