// SPDX-License-Identifier: Apache-2.0
// GPT-2's own Cerebras release step (spec/mappings.md §3): cs-2.2 -> 2.3 drops model keys and
// adds `name`. The steps to cs-2.0 and cs-2.1 are the SDK's (gpt2_plugin.cpp); the host's
// generic steps cover every other release pair and the non-model config sections.
#include "gpt2.hpp"

namespace ckpt::gpt2 {

using namespace sdk;

namespace {

/// Converter_GPT2LMHeadModel_CS22_CS23 (to cs-2.3 ... cs-2.9 in 2.10).
class Cs22Cs23 : public Converter {
public:
    Cs22Cs23() : Converter({"cs-2.2"}, cs_formats({2, 3}), "GPT2LMHeadModel class") {}

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        static const KeyGates gates{registry_name_gate()};
        if (req.direction == 1) {
            // cs-2.2 has no `name`; everything else is unchanged going back.
            copy_config(src, dst, [](const std::string&, ConstNode) { return false; });
            apply_release_gates(gates, req.tgt_fmt, dst);
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
        apply_release_gates(gates, req.tgt_fmt, dst);
    }

    void plan_checkpoint(const Request& req, ConstNode cfg0, ConstNode cfg1, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {cfg0, cfg1}, req.direction == 0 ? kHfSide : kCsSide};
        apply_rules(*copy_everything(), ctx);
    }
};

} // namespace

std::shared_ptr<Converter> make_cs22_cs23() { return std::make_shared<Cs22Cs23>(); }

} // namespace ckpt::gpt2
