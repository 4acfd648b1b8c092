// SPDX-License-Identifier: Apache-2.0
// cs-1.9 <-> cs-2.0 and cs-2.0 <-> cs-2.1 steps for llama (GPT2LMHeadModel configured as Llama).
#include "llama_cs_releases.hpp"

#include "llama_family.hpp"

#include <ckptconv/cpp/release_gate.hpp>
#include <ckptconv/cpp/value.hpp>

#include <set>

namespace ckpt::llama {

namespace {

using sdk::eq;
using sdk::re;

const char* const kNote = "GPT2LMHeadModel class (configured as Llama)";
const char* const kPrefix = R"((?:model\.)?)";

/// Copies every model key except `skip` (written by the caller in its place).
void copy_except(sdk::ConstNode src, sdk::Node dst, const std::string& skip)
{
    for (size_t i = 0; i < src.size(); ++i)
        if (src.key_at(i) != skip)
            dst.entry(src.key_at(i)).assign(src.value_at(i));
}

std::shared_ptr<sdk::CheckpointRules> copy_everything()
{
    auto r = std::make_shared<sdk::CheckpointRules>();
    r->add({re(".*")}, sdk::copy_tensor());
    return r;
}

} // namespace

LlamaCs19Cs20::LlamaCs19Cs20() : Converter({"cs-1.9"}, {"cs-2.0"}, kNote), m_rules(copy_everything()) {}

void LlamaCs19Cs20::convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst)
{
    if (req.direction == 0) {
        // use_rms_norm (absent means False) becomes norm_type.
        const bool rms = config_bool_or(src, "use_rms_norm", false);
        copy_except(src, dst, "use_rms_norm");
        dst.entry("norm_type").set(rms ? "rmsnorm" : "layernorm");
        return;
    }
    const std::string norm = config_string_or(src, "norm_type", "layernorm");
    if (norm != "rmsnorm" && norm != "layernorm")
        throw sdk::ConfigConversionError("Can't convert config with norm_type=" + norm +
                                         ". Only ['rmsnorm', 'layernorm'] is supported.");
    copy_except(src, dst, "norm_type");
    dst.entry("use_rms_norm").set(norm == "rmsnorm");
}

void LlamaCs19Cs20::plan_checkpoint(const sdk::Request& req, sdk::ConstNode cs19, sdk::ConstNode cs20,
                                    sdk::Plan& plan)
{
    const int from = req.direction == 0 ? 0 : 1;
    sdk::CheckpointContext ctx{req, plan, {cs19, cs20}, from};
    sdk::apply_rules(*m_rules, ctx);

    // Tie repair: a checkpoint saved by an old cstorch may lack one of two tensors that are the
    // same parameter; fill it from the other (keeping the optional `model.` prefix).
    std::set<std::string> have;
    for (const auto& n : plan.input_names())
        have.insert(n);
    const bool tied = config_bool_or(from == 0 ? cs19 : cs20, "share_embedding_weights", true);
    auto fill = [&](const std::string& a, const std::string& b) {
        if (have.count(a) && !have.count(b))
            plan.copy(b, plan.input(a));
        else if (have.count(b) && !have.count(a))
            plan.copy(a, plan.input(b));
    };
    for (const std::string prefix : {"", "model."}) {
        if (tied)
            fill(prefix + "lm_head.weight", prefix + "embedding_layer.word_embeddings.weight");
        for (const char* suffix : {"weight", "bias"})
            fill(prefix + "ln_f." + suffix, prefix + "transformer_decoder.norm." + suffix);
    }
}

LlamaCs20Cs21::LlamaCs20Cs21() : Converter({"cs-2.0"}, {"cs-2.1"}, kNote)
{
    // cs-2.1 moved position embeddings under the embedding layer's helpers.
    auto r = std::make_shared<sdk::CheckpointRules>();
    r->add({re(kPrefix), eq("embedding_layer.position_embeddings.weight", "embedding_layer.position_embeddings.embed.weight")},
           sdk::copy_tensor());
    r->add({re(kPrefix), eq("embedding_layer.position_embeddings", "embedding_layer.position_embeddings.fpe")},
           sdk::copy_tensor());
    r->add({re(kPrefix), eq("relative_pe_helper.", "embedding_layer.position_embed_helper."),
            re(R"((?:relative_attention_bias\.(?:weight|bias)|slopes))")},
           sdk::copy_tensor());
    r->add({re(".*")}, sdk::copy_tensor());
    m_rules = r;
}

void LlamaCs20Cs21::convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst)
{
    if (req.direction == 0 && src.has("use_bfloat16")) {
        // cs-2.1 states the half-precision type instead of a bfloat16 flag.
        const bool bf16 = config_bool_or(src, "use_bfloat16", false);
        copy_except(src, dst, "use_bfloat16");
        if (!dst.has("fp16_type"))
            dst.entry("fp16_type").set(bf16 ? "bfloat16" : "float16");
        return;
    }
    copy_except(src, dst, "");
    if (req.direction == 1) {
        // Release_2.0.2 has neither key: its rotary base is 10000 and it cannot scale positions.
        // The Model Zoo's step copies them (the references keep the implied values); any other
        // value would be ignored by a cs-2.0 model, so it is refused.
        static const sdk::KeyGates cs21_keys{{"rope_theta", {2, 1}, {sdk::Value(10000.0)}},
                                             {"pos_scaling_factor", {2, 1}, {sdk::Value(1.0)}}};
        sdk::apply_release_gates(cs21_keys, req.tgt_fmt, dst, sdk::ImpliedValue::keep);
    }
}

void LlamaCs20Cs21::plan_checkpoint(const sdk::Request& req, sdk::ConstNode cs20, sdk::ConstNode cs21,
                                    sdk::Plan& plan)
{
    sdk::CheckpointContext ctx{req, plan, {cs20, cs21}, req.direction == 0 ? 0 : 1};
    sdk::apply_rules(*m_rules, ctx);
}

} // namespace ckpt::llama
