// SPDX-License-Identifier: Apache-2.0
// hf <-> cs-2.3+ conversion of Mixtral configs and checkpoints: the llama tables for everything
// but the feed-forward block, the expert rows for that, and the CS head a headless HF model lacks.
#include "mixtral.hpp"

#include "llama_checkpoint_rules.hpp"
#include "lm_head_init.hpp"

#include <ckptconv/cpp/model_shapes.hpp>

namespace ckpt::mixtral {

namespace {

class MixtralHfCs : public sdk::Converter {
public:
    explicit MixtralHfCs(bool headless)
        : Converter({"hf"}, sdk::cs_formats({2, 3}), note_for(headless)), m_headless(headless), m_config(headless),
          m_moe(moe_rules(headless)), m_llama(llama::hf_cs_rules(headless))
    {
    }

    void convert_config(const sdk::Request& req, sdk::ConstNode src, sdk::Node dst) override { m_config.run(req, src, dst); }

    void plan_checkpoint(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config,
                         sdk::Plan& plan) override
    {
        sdk::CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? 0 : 1};
        if (ctx.from == 0)
            check_model_shapes(hf_config, 0, sdk::ModelShapes::inputs_of(plan));
        // The expert rows first: the llama table has no row for them, and none of its rows
        // matches a key they take.
        sdk::apply_rules(*m_moe, ctx);
        sdk::apply_rules(*m_llama, ctx);
        if (m_headless && ctx.from == 0)
            add_lm_head(req, hf_config, cs_config, plan);
        if (ctx.from == 1)
            check_model_shapes(hf_config, 1, plan.outputs());
    }

private:
    static std::string note_for(bool headless)
    {
        std::string note = std::string("hf ") + hf_class(headless) + " <-> " + sdk::join(sdk::cs_formats({2, 3})) +
                           " GPT2LMHeadModel (configured as Mixtral)";
        if (headless)
            note += "\nThe HF model doesn't contain a language model head while the CS one does. When converting to "
                    "CS, the exported checkpoint will contain a language model head initialized to default random "
                    "values. When converting to HF, the language model head will be dropped.";
        return note;
    }

    /// CS always has an lm_head: tied, the word embeddings; else a fixed-seed N(0, 0.02) stand-in
    /// for the Model Zoo's unseeded draw (docs/decisions.md of the llama plugin).
    static void add_lm_head(const sdk::Request& req, sdk::ConstNode hf_config, sdk::ConstNode cs_config, sdk::Plan& plan)
    {
        req.log(CKPT_LOG_WARNING, req.tgt_fmt + " has a language model head (lm_head) while hf does not. "
                                                "Initializing lm_head to default.");
        const std::string embed = "embed_tokens.weight";
        bool found = false;
        for (size_t i = 0, n = plan.input_count(); i < n && !found; ++i)
            found = plan.input_info(i).name == embed;
        if (!found)
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT,
                             "the headless HF checkpoint has no " + embed + " to size (or tie) the CS lm_head");
        const ckpt_value_id embed_id = plan.input(embed);
        const int64_t vocab = sdk::config_int(cs_config, "vocab_size", "CS");
        const int64_t hidden = sdk::config_int(cs_config, "hidden_size", "CS");
        if (plan.value_info(embed_id).shape != std::vector<int64_t>{vocab, hidden})
            throw sdk::Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + embed + " does not have the shape [vocab_size, "
                                                        "hidden_size] = [" + std::to_string(vocab) + ", " +
                                                        std::to_string(hidden) + "] of the config");
        if (sdk::config_flag_or(hf_config, "tie_word_embeddings", false)) {
            plan.copy("lm_head.weight", embed_id);
        } else {
            llama::add_random_lm_head(plan, "lm_head.weight", vocab, hidden);
            req.log(CKPT_LOG_INFO, "lm_head.weight: a fixed-seed stand-in for N(0, 0.02), not torch's random draw");
        }
        if (sdk::config_flag_or(cs_config, "use_bias_in_output", false))
            plan.generate("lm_head.bias", CKPT_GEN_FILL, CKPT_DTYPE_F32, {vocab}, 0.0);
    }

    bool m_headless;
    MixtralConfigConverter m_config;
    std::shared_ptr<const sdk::CheckpointRules> m_moe, m_llama;
};

} // namespace

std::shared_ptr<sdk::Converter> make_hf_converter(bool headless) { return std::make_shared<MixtralHfCs>(headless); }

} // namespace ckpt::mixtral
