// SPDX-License-Identifier: Apache-2.0
// T5's own Cerebras release steps (spec/mappings.md §3): cs-1.6 -> 1.7/1.8 renames, the
// cs-1.7 <-> 1.8 layer-norm flag flip, cs-1.9 -> 2.0 norm_type and tie repair, cs-2.0 -> 2.1
// embedding renames. The host's generic steps cover every other release pair.
#include "t5.hpp"

#include <ckptconv/cpp/release_steps.hpp>

#include <map>

namespace ckpt::t5 {

using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::copy_config;
using sdk::eq;
using sdk::re;
using sdk::Value;

namespace {

const char* const kNote = "T5ForConditionalGeneration class";
const char* const kOptionalModel = R"((?:model\.)?)";
const char* const kFlipped = "use_pre_encoder_decoder_layer_norm";


void copy_all(ConstNode src, Node dst)
{
    copy_config(src, dst, [](const std::string&, ConstNode) { return false; });
}

/// cs-1.7 <-> cs-1.8: the flag's meaning was inverted, so a stated value is negated both ways.
/// An absent flag stays absent: the defaults (cs-1.7 false, cs-1.8 true) mean the same model.
void flip_layer_norm_flag(ConstNode src, Node dst)
{
    copy_config(src, dst, [&](const std::string& key, ConstNode v) {
        if (key != kFlipped || v.is_null())
            return false;
        const Value flag = Value::read(v);
        if (flag != Value(true) && flag != Value(false))
            throw sdk::ConfigConversionError("Can't convert config with " + key + "=" + flag.str() +
                                             ". Only True, False is supported.");
        dst.entry(key).set(!(flag == Value(true)));
        return true;
    });
}

std::shared_ptr<const CheckpointRules> copy_everything()
{
    static const auto rules = [] {
        auto r = std::make_shared<CheckpointRules>();
        r->add({re(".*")}, sdk::copy_tensor());
        return r;
    }();
    return rules;
}

void run(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan, const CheckpointRules& rules)
{
    CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
    sdk::apply_rules(rules, ctx);
}

/// Converter_T5_CS16_CS17 and Converter_T5_CS16_CS18: the cs-1.6 HF-like names to Cerebras
/// names. (The Model Zoo also drops the optimizer state here; the host carries non-model
/// sections unchanged.)
class Cs16 : public sdk::Converter {
public:
    explicit Cs16(bool to18) : Converter({"cs-1.6"}, {to18 ? "cs-1.8" : "cs-1.7"}, kNote), m_to18(to18) {}

    void convert_config(const Request&, ConstNode src, Node dst) override
    {
        if (m_to18)
            flip_layer_norm_flag(src, dst);
        else
            copy_all(src, dst);
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        // The Model Zoo drops every non-model section here; plugins only see the model state.
        req.log(CKPT_LOG_WARNING, "The T5 model changed significantly between cs-1.6 and " + side(1).front() +
                                      ". The Model Zoo leaves the optimizer state out of the converted checkpoint; "
                                      "ckptconv carries non-model sections unchanged, so do not resume training "
                                      "from their optimizer state.");
        run(req, cfg0, cfg1, plan, *cs16_rules(m_to18));
    }

private:
    bool m_to18;
};

/// Converter_T5_CS17_CS18: tensors unchanged (cs-1.8 -> 1.7 strips a leading `model.`).
class Cs17Cs18 : public sdk::Converter {
public:
    Cs17Cs18() : Converter({"cs-1.7"}, {"cs-1.8"}, kNote) {}

    void convert_config(const Request&, ConstNode src, Node dst) override { flip_layer_norm_flag(src, dst); }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        static const auto rules = [] {
            auto r = std::make_shared<CheckpointRules>();
            r->add({eq("", "model."), re(".*")}, sdk::copy_tensor());
            r->add({re(".*")}, sdk::copy_tensor());
            return r;
        }();
        if (req.direction == 0)
            run(req, cfg0, cfg1, plan, *copy_everything());
        else
            run(req, cfg0, cfg1, plan, *rules);
    }
};

/// Converter_T5_CS18_CS20: `use_t5_layer_norm` <-> `norm_type`, and the tie repair of the
/// word embeddings and lm_head.
class Cs18Cs20 : public sdk::Converter {
public:
    Cs18Cs20() : Converter({"cs-1.8", "cs-1.9"}, {"cs-2.0"}, kNote) {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            copy_config(src, dst, [&](const std::string& key, ConstNode v) {
                return sdk::rewrite_norm_flag("use_t5_layer_norm", key, v, dst);
            });
            return;
        }
        copy_config(src, dst, [&](const std::string& key, ConstNode v) {
            if (key != "norm_type")
                return false;
            const Value norm = Value::read(v);
            if (norm != Value("rmsnorm") && norm != Value("layernorm"))
                throw sdk::ConfigConversionError("cs-1.8, cs-1.9 did not support " + norm.str() +
                                                 " (norm_type: only rmsnorm and layernorm have a use_t5_layer_norm "
                                                 "equivalent)");
            dst.entry("use_t5_layer_norm").set(norm == Value("rmsnorm"));
            return true;
        });
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        static const auto rules = [] {
            auto r = std::make_shared<CheckpointRules>();
            // The tied word embeddings and lm_head are written by the tie repair below.
            r->add({re(kOptionalModel),
                    re("(?:lm_head|encoder_embeddings\\.word_embeddings|decoder_embeddings\\.word_embeddings)\\.weight")},
                   sdk::drop_tensor());
            r->add({re(".*")}, sdk::copy_tensor());
            return r;
        }();
        CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? 0 : 1};
        sdk::apply_rules(*rules, ctx);
        tie_repair(req, ctx.config[1], plan); // the cs-2.0 config, as the Model Zoo reads it
    }

private:
    /// post_model_convert of Converter_T5_CS18_CS20. With both sharing flags (defaults true) all
    /// three take the first present of lm_head, decoder, encoder, even where the others exist;
    /// otherwise each flag fills its pair's missing member. The Model Zoo also warns when tied
    /// tensors differ, which needs the data and is left out of planning.
    static void tie_repair(const Request& req, ConstNode cfg, Plan& plan)
    {
        std::string prefix;
        if (!has_input(plan, "decoder_embeddings.word_embeddings.weight") &&
            has_input(plan, "model.decoder_embeddings.word_embeddings.weight"))
            prefix = "model.";
        const std::string lm = prefix + "lm_head.weight";
        const std::string dec = prefix + "decoder_embeddings.word_embeddings.weight";
        const std::string enc = prefix + "encoder_embeddings.word_embeddings.weight";
        std::map<std::string, std::string> from; // output name -> source tensor
        for (const auto* name : {&lm, &dec, &enc})
            if (has_input(plan, *name))
                from[*name] = *name;
        const bool share_all = flag_or(cfg, "share_embedding_weights", true);
        const bool share_enc_dec = flag_or(cfg, "share_encoder_decoder_embedding", true);
        if (share_all && share_enc_dec && !from.empty()) {
            const std::string first = from.count(lm) ? lm : from.count(dec) ? dec : enc;
            for (const auto* name : {&lm, &dec, &enc})
                from[*name] = first;
        }
        auto fill = [&](const std::string& missing, const std::string& source) {
            if (!from.count(missing) && from.count(source))
                from[missing] = from[source];
        };
        if (share_all) {
            fill(lm, dec);
            fill(dec, lm);
        }
        if (share_enc_dec) {
            fill(enc, dec);
            fill(dec, enc);
        }
        for (const auto* name : {&lm, &dec, &enc}) {
            if (!from.count(*name))
                continue;
            if (has_input(plan, *name))
                plan.input(*name); // matched, whether or not its own value is kept
            plan.copy(*name, plan.input(from[*name]));
            if (from[*name] != *name)
                req.log(CKPT_LOG_INFO, *name + " taken from " + from[*name] + " (tied embeddings)");
        }
    }
};

/// Converter_T5_CS20_CS21: the cs-2.1 embedding refactor, and `use_bfloat16` -> `fp16_type`.
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
            const std::string stack = "(?:encoder|decoder)";
            auto r = std::make_shared<CheckpointRules>();
            r->add({re(kOptionalModel), re(stack),
                    eq("_embeddings.position_embeddings.weight", "_embeddings.position_embeddings.embed.weight")},
                   sdk::copy_tensor());
            r->add({re(kOptionalModel), re(stack),
                    eq("_embeddings.position_embeddings", "_embeddings.position_embeddings.fpe")},
                   sdk::copy_tensor());
            for (const char* s : {"encoder", "decoder"})
                r->add({re(kOptionalModel),
                        eq(std::string("relative_position_") + s + ".relative_attention_bias.",
                           std::string(s) + "_embeddings.position_embed_helper.relative_attention_bias."),
                        re("(?:weight|bias)")},
                       sdk::copy_tensor());
            r->add({re(".*")}, sdk::copy_tensor());
            return r;
        }();
        run(req, cfg0, cfg1, plan, *rules);
    }
};

} // namespace

std::shared_ptr<sdk::Converter> make_cs16_cs17() { return std::make_shared<Cs16>(false); }
std::shared_ptr<sdk::Converter> make_cs16_cs18() { return std::make_shared<Cs16>(true); }
std::shared_ptr<sdk::Converter> make_cs17_cs18() { return std::make_shared<Cs17Cs18>(); }
std::shared_ptr<sdk::Converter> make_cs18_cs20() { return std::make_shared<Cs18Cs20>(); }
std::shared_ptr<sdk::Converter> make_cs20_cs21() { return std::make_shared<Cs20Cs21>(); }

} // namespace ckpt::t5
