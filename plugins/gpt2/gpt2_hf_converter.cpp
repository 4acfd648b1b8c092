// SPDX-License-Identifier: Apache-2.0
// The Hugging Face <-> Cerebras cs-2.1 ... cs-2.9 converters for gpt2 and gpt2-headless:
// config table plus release extras, checkpoint rules, headless lm_head synthesis, muP folding.
//
// Hugging Face output follows design.md §5 rather than the Model Zoo: attn.bias/masked_bias
// are not regenerated (transformers 4.47 no longer keeps them in the state dict), and
// config.json gains `architectures`. `torch_dtype` is omitted: convert_config runs before the
// tensors are known and plan_checkpoint only sees the configs read-only.
#include "gpt2.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

#include <cmath>
#include <cstring>
#include <random>

namespace ckpt::gpt2 {

namespace {

const char* const kHeadlessNote =
    "The HF model doesn't contain a language model head while the CS one does. When converting to CS, the "
    "exported checkpoint will contain a language model head initialized to default random values. When "
    "converting to HF, the language model head will be dropped.";

std::string join(const std::vector<std::string>& v)
{
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + v[i];
    return s;
}

/// A fresh lm_head ~ N(0, 0.02) as float32 (the CS model's default init). A fixed seed, the
/// standard-specified mt19937_64 and our own Box-Muller (std::normal_distribution differs
/// between standard libraries) make the output the same on every platform and run.
struct NormalInit {
    static ckpt_status run(void*, const ckpt_kernel_io* io) noexcept
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
            out[i] = static_cast<float>(0.02 * r * std::cos(theta));
            if (i + 1 < count)
                out[i + 1] = static_cast<float>(0.02 * r * std::sin(theta));
        }
        return CKPT_OK;
    }
};

class HfConverter : public sdk::Converter {
public:
    explicit HfConverter(bool lm_head)
        : Converter({"hf"}, cs21_plus_formats(),
                    lm_head ? "hf GPT2LMHeadModel <-> " + join(cs21_plus_formats()) + " GPT2LMHeadModel"
                            : "hf GPT2Model <-> " + join(cs21_plus_formats()) + " GPT2LMHeadModel\n" + kHeadlessNote),
          m_lm_head(lm_head)
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            hf_cs21_config().run(req, src, dst);
            const int v = cs_version(req.tgt_fmt);
            // BaseConfigConverter_HF_CS of the releases that target cs-2.1 ... cs-2.3 adds it.
            if (v <= 203 && !dst.has("mixed_precision"))
                dst.entry("mixed_precision").set(true);
            return;
        }
        const MupKind kind = detect_mup(src);
        if (kind == MupKind::none) {
            hf_cs21_config().run(req, src, dst);
        } else {
            sdk::ScratchTree scratch(req.host->config);
            Node work = scratch.root();
            work.assign(src);
            mup_config_to_sp(work, kind);
            hf_cs21_config().run(req, work, dst);
        }
        // What transformers' save_pretrained writes and loaders such as vLLM require.
        Node arch = dst.entry("architectures");
        arch.make_list();
        arch.append().set(m_lm_head ? "GPT2LMHeadModel" : "GPT2Model");
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0)
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
        sdk::apply_rules(*hf_cs21_rules(m_lm_head), ctx);
        if (ctx.from == 0 && !m_lm_head)
            synthesize_lm_head(req, hf_config, cs_config, plan);
        if (ctx.from == 1 && m_lm_head)
            untie_folded_lm_head(ctx);
        if (ctx.from == 1)
            check_model_shapes(hf_config, 1, plan.outputs());
    }

private:
    /// Headless HF -> CS: the CS model always has an lm_head (spec §1.4).
    static void synthesize_lm_head(const Request& req, ConstNode hf, ConstNode cs, Plan& plan)
    {
        if (!has_input(plan, "wte.weight"))
            throw sdk::Error(CKPT_ERR_BAD_INPUT, "the checkpoint has no tensor 'wte.weight', which the headless gpt2 "
                                                 "conversion needs to build lm_head.weight");
        const ckpt_value_id wte = plan.input("wte.weight");
        const sdk::TensorDesc info = plan.value_info(wte);
        ConstNode tie = hf["tie_word_embeddings"];
        const bool tied = !tie.present() || tie.is_null() || sdk::Value::read(tie) == sdk::Value(true);
        if (tied) {
            plan.copy("lm_head.weight", wte);
        } else {
            if (info.shape.size() != 2)
                throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor 'wte.weight': expected 2 dimensions, found " +
                                                         std::to_string(info.shape.size()));
            ckpt_op op{};
            op.kind = CKPT_OP_KERNEL;
            op.ints = info.shape.data();
            op.int_count = info.shape.size();
            op.dtype = CKPT_DTYPE_F32;
            op.kernel.struct_size = sizeof op.kernel;
            op.kernel.run = &NormalInit::run;
            const bool f32 = info.dtype == CKPT_DTYPE_F32;
            const std::string name = "lm_head.weight";
            if (f32)
                op.output = ckpt_str{name.data(), name.size()};
            ckpt_value_id fresh = plan.add(op);
            if (!f32)
                plan.cast(name, fresh, info.dtype);
            req.log(CKPT_LOG_INFO, "lm_head.weight initialised from N(0, 0.02): the HF config unties the embeddings");
        }
        if (sdk::Value::read(cs["use_bias_in_output"]) == sdk::Value(true))
            plan.generate("lm_head.bias", CKPT_GEN_FILL, info.dtype, {info.shape.empty() ? 0 : info.shape[0]}, 0.0);
    }

    /// CS -> HF from a muP checkpoint saved tied (no lm_head): the sP model is untied, so the
    /// folded lm_head is built from the word embeddings rather than left out.
    static void untie_folded_lm_head(sdk::CheckpointContext& ctx)
    {
        if (detect_mup(ctx.config[1]) == MupKind::none)
            return;
        for (const char* prefix : {"", "model."}) {
            const std::string lm = std::string(prefix) + "lm_head.weight";
            const std::string wte = std::string(prefix) + "embedding_layer.word_embeddings.weight";
            if (has_input(ctx.plan, lm) || !has_input(ctx.plan, wte))
                continue;
            const double f = mup_factor(ctx.config[1], "lm_head.weight");
            ckpt_value_id id = ctx.plan.input(wte);
            if (f != 1.0)
                ctx.plan.scale("lm_head.weight", id, f);
            else
                ctx.plan.copy("lm_head.weight", id);
            ctx.req.log(CKPT_LOG_WARNING, "the muP checkpoint has no " + lm + " (tied); lm_head.weight is built from " +
                                              wte + " with the muP output scale, since the converted model is untied");
            return;
        }
    }

    bool m_lm_head;
};

} // namespace

std::shared_ptr<sdk::Converter> make_hf_converter(bool lm_head) { return std::make_shared<HfConverter>(lm_head); }

} // namespace ckpt::gpt2
