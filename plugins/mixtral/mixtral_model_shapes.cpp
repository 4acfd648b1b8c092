// SPDX-License-Identifier: Apache-2.0
// The Mixtral tensor shapes a Hugging Face config implies: LlamaModel's, with a router and
// `num_local_experts` feed-forward experts in place of the dense block (nn.Linear weights [out, in]).
#include "mixtral.hpp"


#include <string>

namespace ckpt::mixtral {

void expect_mixtral_shapes(sdk::ModelShapes& s, sdk::ConstNode hf_config)
{
    const auto [d, layers] = sdk::expect_llama_shapes(s, hf_config, false);
    const int64_t experts = s.size("num_local_experts", "moe.num_experts");
    const int64_t inter = s.size("intermediate_size", "filter_size");
    const std::string moe = R"((?:model\.)?layers\.{layer}\.block_sparse_moe\.)";
    s.expect_layers(moe + R"(gate\.weight)", layers, {experts, d});
    // The router's rows are the expert count; an expert index is not compared with it here (the
    // expert rows name a missing expert, and an extra one is left unmatched).
    const std::string expert = moe + R"(experts\.(?:0|[1-9][0-9]{0,3})\.)";
    s.expect_layers(expert + R"(w[13]\.weight)", layers, {inter, d});
    s.expect_layers(expert + R"(w2\.weight)", layers, {d, inter});
}

} // namespace ckpt::mixtral
