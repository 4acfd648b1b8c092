// SPDX-License-Identifier: Apache-2.0
// hf <-> cs-2.3+ conversion of Mixtral configs and checkpoints on the SDK decoder helper: the
// LLaMA tables for everything but the feed-forward block, the expert rows (a pass of their own)
// for that, and the helper's CS head for a headless HF model.
#include "mixtral.hpp"

namespace ckpt::mixtral {

std::shared_ptr<sdk::Converter> make_hf_converter(bool headless)
{
    sdk::DecoderFamily f = sdk::llama_family("mixtral", "Mixtral", hf_class(false), hf_class(true), headless);
    f.config = [headless] { return std::make_shared<MixtralConfigConverter>(headless); };
    f.first_pass = moe_rules;
    f.shapes = expect_mixtral_shapes;
    return std::make_shared<sdk::DecoderHfCs>(f, headless, sdk::cs_formats({2, 3}), true);
}

} // namespace ckpt::mixtral
