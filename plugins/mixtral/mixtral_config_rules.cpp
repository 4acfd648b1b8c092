// SPDX-License-Identifier: Apache-2.0
// The Mixtral config table (ConfigConverter_Mixtral_HF_CS23): the expert settings and the sliding
// window in front of the llama rows (docs/mappings-esm2-clip-mixtral.md §3.3).
#include "mixtral.hpp"

#include <ckptconv/cpp/value.hpp>

namespace ckpt::mixtral {

namespace {

using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::Value;

constexpr int kHf = 0;

/// HF num_local_experts / num_experts_per_tok / router_aux_loss_coef <-> CS `moe` {num_experts,
/// top_k, load_balancing_loss_coef}.
sdk::ConfigAction convert_moe_params()
{
    static const char* const kPairs[][2] = {{"num_local_experts", "num_experts"},
                                            {"num_experts_per_tok", "top_k"},
                                            {"router_aux_loss_coef", "load_balancing_loss_coef"}};
    return sdk::config_action("convert_moe_params", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from == kHf) {
            sdk::Node moe = c.dst.entry("moe");
            if (!moe.is_map())
                moe.make_map();
            for (const auto& p : kPairs) {
                if (!c.src.has(p[0]))
                    throw ConfigConversionError(std::string("HF config has ") + o + " but no " + p[0] +
                                                ": the CS moe section needs " + p[1]);
                moe.entry(p[1]).assign(c.src[p[0]]);
            }
            return;
        }
        sdk::ConstNode moe = c.src[o];
        if (!moe.is_map())
            throw ConfigConversionError("CS config key 'moe' must be a map, found " + Value::read(moe).str());
        for (const auto& p : kPairs) {
            if (!moe.has(p[1]))
                throw ConfigConversionError(std::string("CS config moe section has no ") + p[1] + " (HF " + p[0] + ")");
            c.dst.entry(p[0]).assign(moe[p[1]]);
        }
    });
}

} // namespace

MixtralConfigConverter::MixtralConfigConverter(bool headless)
    : sdk::LlamaStyleConfig("mistral", headless ? "MistralModel" : "MistralForCausalLM", "mistral", true)
{
    // The llama rows stay as they are, behind Mixtral's own (the first matching row wins).
    auto inherited = std::make_shared<sdk::ConfigRules>(std::move(rules));
    rules = sdk::ConfigRules();
    rules.add({eq("sliding_window", "attention_sliding_window_length")}, sdk::rename_key());
    rules.add({eq("num_local_experts", "moe")}, convert_moe_params());
    rules.add({eq("model_type", "model_type")}, sdk::assert_value(kHf, {Value("mixtral")}));
    rules.add(std::vector<sdk::Segment>{}, std::shared_ptr<const sdk::ConfigRules>(inherited));
    // As the llama table writes them, for this class (design.md §5).
    post_defaults[kHf] = {{"model_type", Value("mixtral")},
                          {"architectures", Value::list({Value(hf_class(headless))})},
                          {"torch_dtype", Value("float32")}};
}

void MixtralConfigConverter::post_convert(ConfigContext& ctx) const
{
    // cs-2.4+ configs name their model class; the llama table would write `mistral`.
    if (ctx.from == kHf && sdk::cs_at_least(ctx.req.tgt_fmt, 2, 4) && !ctx.dst.has("name"))
        ctx.dst.entry("name").set(kRegistryName);
    sdk::LlamaStyleConfig::post_convert(ctx);
}

} // namespace ckpt::mixtral
