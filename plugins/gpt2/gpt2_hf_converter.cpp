// SPDX-License-Identifier: Apache-2.0
// The Hugging Face <-> Cerebras cs-2.1 ... cs-2.9 converters of gpt2 and gpt2-headless: the
// family table run as GPT-2's converter does it, where that differs from sdk::DecoderHfCs.
//
// What GPT-2 keeps its own (plugins/gpt2/README.md): config.json gains `architectures` but no
// `torch_dtype`, and the precision keys are not translated; a partial pre-cs-2.3 muP set is a
// ConfigConversionError and folding removes only that form's keys; a tied muP checkpoint gets a
// folded lm_head; the headless lm_head comes from GPT-2's own fixed-seed generator, unlogged.
#include "gpt2.hpp"

#include <cmath>
#include <random>

namespace ckpt::gpt2 {

using namespace sdk;

namespace {

/// The muP form of CS model section `cs`; a partial pre-cs-2.3 set is refused in GPT-2's words.
MupForm gpt2_mup_form(ConstNode cs)
{
    try {
        return mup_form(cs);
    } catch (const Error&) { // mup_form's only refusal: some but not all pre-cs-2.3 keys
        throw ConfigConversionError(
            "The config has some but not all of the pre-cs-2.3 muP keys scale_qk_dot_by_d, embeddings_scale, "
            "output_logits_scale; a muP config needs all three (or mup_base_hidden_size for cs-2.3+ muP)");
    }
}

/// A fresh lm_head ~ N(0, 0.02) as float32 (the CS model's default init). A fixed seed, the
/// standard-specified mt19937_64 and our own Box-Muller (std::normal_distribution differs
/// between standard libraries) make the output the same on every platform and run.
ckpt_status normal_init(void*, const ckpt_kernel_io* io) noexcept
{
    if (!io || !io->output || !io->output_data || io->output->dtype != CKPT_DTYPE_F32)
        return CKPT_ERR_INVALID_ARGUMENT;
    const size_t count = static_cast<size_t>(io->output->nbytes / sizeof(float));
    std::mt19937_64 gen(0x67707432u);
    auto uniform = [&gen] { return (static_cast<double>(gen() >> 11) + 0.5) * 0x1.0p-53; }; // (0, 1)
    auto* out = static_cast<float*>(io->output_data);
    const double two_pi = 6.283185307179586476925;
    for (size_t i = 0; i < count; i += 2) {
        const double r = std::sqrt(-2.0 * std::log(uniform())), theta = two_pi * uniform();
        out[i] = static_cast<float>(kLmHeadInitStd * r * std::cos(theta));
        if (i + 1 < count)
            out[i + 1] = static_cast<float>(kLmHeadInitStd * r * std::sin(theta));
    }
    return CKPT_OK;
}

class HfConverter : public Converter {
public:
    explicit HfConverter(bool lm_head)
        : Converter({"hf"}, cs_formats({2, 1}),
                    "hf " + std::string(lm_head ? family().hf_class : family().hf_headless_class) + " <-> " +
                        join(cs_formats({2, 1})) + " " + family().cs_class +
                        (lm_head ? std::string() : std::string("\n") + headless_note())),
          m_lm_head(lm_head), m_config(family().config()), m_rules(hf_cs21_rules(lm_head))
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            m_config->run(req, src, dst);
            // BaseConfigConverter_HF_CS of the releases that target cs-2.1 ... cs-2.3 adds it.
            if (!cs_at_least(req.tgt_fmt, 2, 4) && !dst.has("mixed_precision"))
                dst.entry("mixed_precision").set(true);
            return;
        }
        const MupForm form = gpt2_mup_form(src);
        if (form == MupForm::none) {
            m_config->run(req, src, dst);
        } else {
            ScratchTree scratch(req.host->config);
            Node work = scratch.root();
            work.assign(src);
            // Only the form's own keys go: the pre-cs-2.3 scales, or every cs-2.3 key (a stray
            // output_logits_scale beside them stays, to be reported as dropped).
            for (const std::string& k : mup_config_keys()) {
                const bool pre_key = k == "scale_qk_dot_by_d" || k == "embeddings_scale" || k == "output_logits_scale";
                if (form == MupForm::pre_cs23 ? pre_key : k != "output_logits_scale")
                    work.erase(k);
            }
            // The folded output projection no longer equals the embeddings.
            if (work.has("share_embedding_weights"))
                work.find_mut("share_embedding_weights").set(false);
            m_config->run(req, work, dst);
        }
        // What transformers' save_pretrained writes and loaders such as vLLM require.
        Node arch = dst.entry("architectures");
        arch.make_list();
        arch.append().set(m_lm_head ? family().hf_class : family().hf_headless_class);
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? kHfSide : kCsSide};
        if (ctx.from == kHfSide)
            check_shapes(hf_config, kHfSide, ModelShapes::inputs_of(plan));
        apply_rules(*m_rules, ctx);
        if (ctx.from == kHfSide && !m_lm_head)
            add_lm_head(ctx);
        if (ctx.from == kCsSide && m_lm_head)
            untie_folded_lm_head(ctx);
        if (ctx.from == kCsSide)
            check_shapes(hf_config, kCsSide, plan.outputs());
    }

private:
    static void check_shapes(ConstNode hf_config, int from, const std::vector<TensorDesc>& hf_tensors)
    {
        ModelShapes s(hf_config, from);
        family().shapes(s, hf_config);
        s.check(hf_tensors);
    }

    /// Headless HF -> CS: the CS model always has an lm_head (spec §1.4): the word embeddings
    /// when tied, else a fresh N(0, 0.02) draw; a zero bias when the CS model has one.
    static void add_lm_head(CheckpointContext& c)
    {
        if (!InputIndex(c.plan).has("wte.weight"))
            throw Error(CKPT_ERR_BAD_INPUT, "the checkpoint has no tensor 'wte.weight', which the headless gpt2 "
                                            "conversion needs to build lm_head.weight");
        const ckpt_value_id wte = c.plan.input("wte.weight");
        const TensorDesc info = c.plan.value_info(wte);
        ConstNode tie = c.config[kHfSide]["tie_word_embeddings"];
        if (!tie.present() || tie.is_null() || Value::read(tie) == Value(true)) {
            c.plan.copy("lm_head.weight", wte);
        } else {
            if (info.shape.size() != 2)
                throw Error(CKPT_ERR_BAD_INPUT, "tensor 'wte.weight': expected 2 dimensions, found " +
                                                    std::to_string(info.shape.size()));
            const bool f32 = info.dtype == CKPT_DTYPE_F32;
            const ckpt_value_id fresh = add_generated_f32(c.plan, f32 ? "lm_head.weight" : "", info.shape, &normal_init);
            if (!f32)
                c.plan.cast("lm_head.weight", fresh, info.dtype);
            c.req.log(CKPT_LOG_INFO, "lm_head.weight initialised from N(0, 0.02): the HF config unties the embeddings");
        }
        if (Value::read(c.config[kCsSide]["use_bias_in_output"]) == Value(true))
            c.plan.generate("lm_head.bias", CKPT_GEN_FILL, info.dtype, {info.shape.empty() ? 0 : info.shape[0]}, 0.0);
    }

    /// CS -> HF from a muP checkpoint saved tied (no lm_head): the sP model is untied, so the
    /// folded lm_head is built from the word embeddings rather than left out.
    static void untie_folded_lm_head(CheckpointContext& c)
    {
        if (mup_form(c.config[kCsSide]) == MupForm::none)
            return;
        const InputIndex have(c.plan);
        for (const std::string prefix : {"", "model."}) {
            const std::string lm = prefix + "lm_head.weight";
            const std::string wte = prefix + "embedding_layer.word_embeddings.weight";
            if (have.has(lm) || !have.has(wte))
                continue;
            const double f = mup_factor(c.config[kCsSide], "lm_head.weight");
            const ckpt_value_id id = c.plan.input(wte);
            if (f != 1.0)
                c.plan.scale("lm_head.weight", id, f);
            else
                c.plan.copy("lm_head.weight", id);
            c.req.log(CKPT_LOG_WARNING, "the muP checkpoint has no " + lm + " (tied); lm_head.weight is built from " +
                                            wte + " with the muP output scale, since the converted model is untied");
            return;
        }
    }

    bool m_lm_head;
    std::shared_ptr<DecoderConfig> m_config;
    std::shared_ptr<const CheckpointRules> m_rules;
};

} // namespace

std::shared_ptr<Converter> make_hf_converter(bool lm_head) { return std::make_shared<HfConverter>(lm_head); }

} // namespace ckpt::gpt2
