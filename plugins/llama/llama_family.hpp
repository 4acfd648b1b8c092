// SPDX-License-Identifier: Apache-2.0
// What distinguishes the members of the llama family (llama, mistral; with or without an LM head)
// and the small facts every converter in the plugin needs about them.
#pragma once

#include <ckptconv/cpp/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ckpt::llama {

/// One Hugging Face class served by the plugin.
struct Variant {
    bool mistral = false;  // MistralForCausalLM / MistralModel: LLaMA plus sliding-window keys
    bool headless = false; // LlamaModel / MistralModel: no lm_head on the HF side

    /// "LlamaForCausalLM", "LlamaModel", "MistralForCausalLM", "MistralModel".
    std::string hf_class() const;
    /// HF `model_type`: "llama" or "mistral".
    std::string model_type() const { return mistral ? "mistral" : "llama"; }
    /// The CS registry name written as `name` in cs-2.4+ configs (spec/mappings.md §1.5).
    std::string registry_name() const { return model_type(); }
    /// "Llama" / "Mistral", as the converter notes spell it.
    std::string display() const { return mistral ? "Mistral" : "Llama"; }
};

/// The CS releases the HF converters serve (Model Zoo 2.10: cs-2.1 ... cs-2.9).
const std::vector<std::string>& hf_cs_formats();

/// (major, minor) of "cs-X.Y"; nullopt for anything else.
std::optional<std::pair<int, int>> cs_version(const std::string& fmt);

/// Reads an integer config entry, throwing an error that names the key when it is missing or
/// not an integer (a float with an integral value is accepted, as Python would).
int64_t config_int(const sdk::ConstNode& config, const std::string& key, const char* side);

/// Reads an optional float (int accepted); `fallback` when missing or null.
double config_float_or(const sdk::ConstNode& config, const std::string& key, double fallback);

/// Reads an optional string; `fallback` when missing or null; throws naming the key otherwise.
std::string config_string_or(const sdk::ConstNode& config, const std::string& key, const std::string& fallback);

/// Reads an optional bool; `fallback` when missing or null.
bool config_bool_or(const sdk::ConstNode& config, const std::string& key, bool fallback);

} // namespace ckpt::llama
