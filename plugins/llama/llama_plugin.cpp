// SPDX-License-Identifier: Apache-2.0
// Registers the llama family on the SDK decoder helper and its LLaMA tables: llama (aliases
// llamaV2, code-llama, wizardlm), their headless forms, mistral and mistral-headless, with the
// Model Zoo 2.10 converters and notes.
#include <ckptconv/cpp/llama_style.hpp>
#include <ckptconv/cpp/plugin.hpp>

CKPT_PLUGIN_DEFINE(def)
{
    using namespace ckpt::sdk;
    const auto formats = cs_formats({2, 1});
    // Converter_{Llama,Mistral}{ForCausalLM,Model}_HF_CS21, with muP folding towards HF.
    auto hf_cs = [&](const std::string& type, const std::string& display, bool headless) {
        const std::string cls = type == "llama" ? "Llama" : "Mistral";
        return std::make_shared<DecoderHfCs>(
            llama_family(type, display, cls + "ForCausalLM", cls + "Model", headless, type == "mistral"), headless,
            formats, true);
    };

    def.info("llama", "1.0", "LLaMA and Mistral (Hugging Face <-> Cerebras Model Zoo)");
    // Converter_LlamaForCausalLM_CS19_CS20 and _CS20_CS21 (GPT2LMHeadModel steps): Release_2.0.2
    // has neither rope_theta nor position scaling, so only the values it implies go down to it.
    const char* const note = "GPT2LMHeadModel class (configured as Llama)";
    auto cs19 = std::make_shared<DecoderCs19Cs20>(std::vector<std::string>{"cs-1.9"}, note, "use_rms_norm", "rmsnorm");
    cs19->write_missing = true;
    auto cs20 = std::make_shared<DecoderCs20Cs21>(note);
    cs20->gates = {{"rope_theta", {2, 1}, {Value(10000.0)}}, {"pos_scaling_factor", {2, 1}, {Value(1.0)}}};
    def.model("llama", {"llamaV2", "code-llama", "wizardlm"}).add(cs19).add(cs20).add(hf_cs("llama", "Llama", false));
    def.model("llama-headless", {"llamaV2-headless", "code-llama-headless", "wizardlm-headless"})
        .registry_name("llama")
        .add(hf_cs("llama", "Llama", true));
    def.model("mistral").add(hf_cs("mistral", "Mistral", false));
    def.model("mistral-headless").registry_name("mistral").add(hf_cs("mistral", "Mistral", true));
}
