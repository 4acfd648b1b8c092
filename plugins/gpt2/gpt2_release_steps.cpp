// SPDX-License-Identifier: Apache-2.0
// GPT-2's own Cerebras release steps (spec/mappings.md §3): cs-1.9 -> 2.0 tie repair and
// norm_type, cs-2.0 -> 2.1 embedding renames and fp16_type, cs-2.2 -> 2.3 dropped model keys.
// The host's generic steps cover every other release pair and the non-model config sections.
#include "gpt2.hpp"

#include <ckptconv/cpp/release_steps.hpp>

namespace ckpt::gpt2 {

using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::copy_config;
using sdk::eq;
using sdk::re;
using sdk::Value;

namespace {

const char* const kNote = "GPT2LMHeadModel class";
const char* const kOptionalModel = R"((?:model\.)?)";


std::shared_ptr<const CheckpointRules> copy_everything()
{
    static const auto rules = [] {
        auto r = std::make_shared<CheckpointRules>();
        r->add({re(".*")}, sdk::copy_tensor());
        return r;
    }();
    return rules;
}

/// Converter_GPT2LMHeadModel_CS18_CS20.
class Cs18Cs20 : public sdk::Converter {
public:
    Cs18Cs20() : Converter({"cs-1.8", "cs-1.9"}, {"cs-2.0"}, kNote) {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            copy_config(src, dst, [&](const std::string& key, ConstNode v) {
                return sdk::rewrite_norm_flag("use_rms_norm", key, v, dst);
            });
            if (!dst.has("norm_type"))
                dst.entry("norm_type").set("layernorm");
            return;
        }
        copy_config(src, dst, [&](const std::string& key, ConstNode v) {
            if (key != "norm_type")
                return false;
            const Value norm = Value::read(v);
            if (norm != Value("rmsnorm") && norm != Value("layernorm"))
                throw sdk::ConfigConversionError("Can't convert config with norm_type=" + norm.str() +
                                                 ". Only ['rmsnorm', 'layernorm'] is supported.");
            dst.entry("use_rms_norm").set(norm == Value("rmsnorm"));
            return true;
        });
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
        sdk::apply_rules(*copy_everything(), ctx);
        ConstNode share = ctx.config[ctx.from]["share_embedding_weights"];
        const bool tied = !share.present() || share.is_null() || Value::read(share) == Value(true);
        std::string prefix;
        for (size_t i = 0, n = plan.input_count(); i < n && prefix.empty(); ++i)
            if (plan.input_info(i).name.rfind("model.", 0) == 0)
                prefix = "model.";
        if (tied)
            fill_each_other(req, plan, prefix + "lm_head.weight", prefix + "embedding_layer.word_embeddings.weight");
        for (const char* suffix : {"weight", "bias"})
            fill_each_other(req, plan, prefix + "ln_f." + suffix, prefix + "transformer_decoder.norm." + suffix);
    }

private:
    /// The cs-1.9 tie repair: whichever of a and b is missing becomes a copy of the other.
    static void fill_each_other(const Request& req, Plan& plan, const std::string& a, const std::string& b)
    {
        const bool has_a = has_input(plan, a), has_b = has_input(plan, b);
        if (has_a == has_b)
            return;
        const std::string& from = has_a ? a : b;
        const std::string& to = has_a ? b : a;
        plan.copy(to, plan.input(from));
        req.log(CKPT_LOG_INFO, to + " restored from " + from);
    }
};

/// Converter_GPT2LMHeadModel_CS20_CS21: the embedding refactor of cs-2.1.
class Cs20Cs21 : public sdk::Converter {
public:
    Cs20Cs21() : Converter({"cs-2.0"}, {"cs-2.1"}, kNote) {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        const bool up = req.direction == 0;
        copy_config(src, dst, [&](const std::string& key, ConstNode v) { return sdk::rewrite_fp16_type(up, key, v, dst); });
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        static const auto rules = [] {
            auto r = std::make_shared<CheckpointRules>();
            r->add({re(kOptionalModel),
                    eq("embedding_layer.position_embeddings.weight", "embedding_layer.position_embeddings.embed.weight")},
                   sdk::copy_tensor());
            r->add({re(kOptionalModel),
                    eq("embedding_layer.position_embeddings", "embedding_layer.position_embeddings.fpe")},
                   sdk::copy_tensor());
            r->add({re(kOptionalModel), eq("relative_pe_helper.slopes", "embedding_layer.position_embed_helper.slopes")},
                   sdk::copy_tensor());
            r->add({re(kOptionalModel),
                    eq("relative_pe_helper.relative_attention_bias.",
                       "embedding_layer.position_embed_helper.relative_attention_bias."),
                    re("(?:weight|bias)")},
                   sdk::copy_tensor());
            r->add({re(".*")}, sdk::copy_tensor());
            return r;
        }();
        CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
        sdk::apply_rules(*rules, ctx);
    }
};

/// Converter_GPT2LMHeadModel_CS22_CS23 (to cs-2.3 ... cs-2.9 in 2.10).
class Cs22Cs23 : public sdk::Converter {
public:
    Cs22Cs23()
        : Converter({"cs-2.2"}, {"cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7", "cs-2.8", "cs-2.9"}, kNote)
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        static const sdk::KeyGates gates{sdk::registry_name_gate()};
        if (req.direction == 1) {
            // cs-2.2 has no `name`; everything else is unchanged going back.
            copy_config(src, dst, [](const std::string&, ConstNode) { return false; });
            sdk::apply_release_gates(gates, req.tgt_fmt, dst);
            return;
        }
        copy_config(src, dst, [&](const std::string& key, ConstNode) {
            const bool gone = key == "use_position_embedding" || key == "alibi_implementation" ||
                              key == "weight_initialization_seed";
            if (gone)
                req.log(CKPT_LOG_WARNING, "model." + key + " is not used by cs-2.3 and later; dropped");
            return gone;
        });
        // A cs-2.2 muP section arrives already upgraded: the host does that with the optimizer
        // section, which the upgrade reads (config/cs_release_config.hpp).
        if (!dst.has("name"))
            dst.entry("name").set(kRegistryName);
        sdk::apply_release_gates(gates, req.tgt_fmt, dst);
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
        sdk::apply_rules(*copy_everything(), ctx);
    }
};

} // namespace

std::shared_ptr<sdk::Converter> make_cs18_cs20() { return std::make_shared<Cs18Cs20>(); }
std::shared_ptr<sdk::Converter> make_cs20_cs21() { return std::make_shared<Cs20Cs21>(); }
std::shared_ptr<sdk::Converter> make_cs22_cs23() { return std::make_shared<Cs22Cs23>(); }

} // namespace ckpt::gpt2
