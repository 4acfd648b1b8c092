// SPDX-License-Identifier: Apache-2.0
// The Hugging Face <-> Cerebras converters for T5 (Converter_T5_HF_CS21: cs-2.1, cs-2.2;
// Converter_T5_HF_CS23: cs-2.3 ... cs-2.9): config table plus release extras, checkpoint rules,
// and the tied embeddings a single model.safetensors leaves out.
#include "t5.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::t5 {

namespace {

const char* const kHfClass = "T5ForConditionalGeneration";

std::string join(const std::vector<std::string>& v)
{
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + v[i];
    return s;
}

class HfConverter : public sdk::Converter {
public:
    explicit HfConverter(bool cs23)
        : Converter({"hf"}, cs23 ? hf_cs23_formats() : hf_cs21_formats(),
                    "hf <-> " + join(cs23 ? hf_cs23_formats() : hf_cs21_formats()) + " " + kHfClass),
          m_cs23(cs23)
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            hf_cs_config().run(req, src, dst);
            return;
        }
        if (!is_mup(src)) {
            hf_cs_config().run(req, src, dst);
        } else if (!m_cs23) {
            // Converter_T5_HF_CS21 does not support muP (muP T5 arrived with cs-2.3).
            throw sdk::ConfigConversionError("This model currently does not support muP checkpoint conversion to HF.");
        } else {
            sdk::ScratchTree scratch(req.host->config);
            Node work = scratch.root();
            work.assign(src);
            mup_config_to_sp(work);
            hf_cs_config().run(req, work, dst);
        }
        // What transformers' save_pretrained writes and loaders such as vLLM require.
        Node arch = dst.entry("architectures");
        arch.make_list();
        arch.append().set(kHfClass);
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0) {
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
            restore_tied(req, hf_config, plan);
        } else {
            // First in the plan, so that of the tied names sharing its value, safetensors output
            // keeps `shared.weight`, as transformers does.
            write_tied_embeddings(ctx);
        }
        sdk::apply_rules(*hf_cs_rules(), ctx);
        if (ctx.from == 1)
            check_model_shapes(hf_config, 1, plan.outputs());
    }

private:
    /// transformers drops tied copies from safetensors files, keeping `shared.weight`: T5 always
    /// ties both stacks' `embed_tokens` to it, and `lm_head` when `tie_word_embeddings` (default
    /// true). The Model Zoo would produce a CS checkpoint without them; we restore them.
    static void restore_tied(const Request& req, ConstNode hf, Plan& plan)
    {
        if (!has_input(plan, "shared.weight"))
            return;
        std::vector<std::pair<std::string, std::string>> restore; // HF name, CS name
        for (const char* stack : {"encoder", "decoder"})
            restore.emplace_back(std::string(stack) + ".embed_tokens.weight",
                                 std::string(stack) + "_embeddings.word_embeddings.weight");
        if (flag_or(hf, "tie_word_embeddings", true))
            restore.emplace_back("lm_head.weight", "lm_head.weight");
        for (const auto& [hf_name, cs_name] : restore) {
            if (has_input(plan, hf_name))
                continue;
            plan.copy(cs_name, plan.input("shared.weight"));
            req.log(CKPT_LOG_INFO, "the checkpoint has no " + hf_name + " (a tied copy that safetensors omits); " +
                                       cs_name + " is restored from shared.weight");
        }
    }

    bool m_cs23;
};

} // namespace

std::shared_ptr<sdk::Converter> make_hf_converter(bool cs23) { return std::make_shared<HfConverter>(cs23); }

} // namespace ckpt::t5
