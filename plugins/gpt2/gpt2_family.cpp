// SPDX-License-Identifier: Apache-2.0
// GPT-2 as a decoder table (spec/mappings.md §2.1): the GPT-2 base rows with Conv1D layers and
// the fused `c_attn`, the ConfigConverter_GPT2Model_HF_CS21 table, and the HF tensor shapes.
#include "gpt2.hpp"

#include <cstdint>

namespace ckpt::gpt2 {

using namespace sdk;

namespace {

/// HF `scale_attn_weights` <-> CS `attention_type`, with GPT-2's own strictness and wording (its
/// converter refuses a non-boolean HF flag, and lists the CS values as a Python list).
ConfigAction gpt2_attention_type()
{
    return config_action("convert_attention_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const Value v = Value::read(c.src[o]);
        if (c.from == kHfSide) {
            if (v.kind() != Value::Kind::boolean && v.kind() != Value::Kind::integer)
                throw ConfigConversionError("Can't convert config with " + o + "=" + v.str() +
                                            ". Only True, False is supported.");
            c.dst.entry(n).set(v == Value(true) ? "scaled_dot_product" : "dot_product");
            return;
        }
        if (v != Value("scaled_dot_product") && v != Value("dot_product"))
            throw ConfigConversionError("Can't convert config with " + o + "=" + v.str() +
                                        ". Only ['scaled_dot_product', 'dot_product'] is supported.");
        c.dst.entry(n).set(v == Value("scaled_dot_product"));
    });
}

/// GPT-2's pre-steps: gpt2_config_pre, except that an unset `n_inner` needs an integer `n_embd`
/// (GPT-2's wording names what was found).
void gpt2_pre(ConfigContext& c, Node work)
{
    if (c.from != kHfSide || !detail::unset(work["n_inner"]))
        return gpt2_config_pre(c, work);
    const ConstNode embd = work["n_embd"];
    if (!embd.present() || embd.kind() != CKPT_NODE_INT || embd.as_int() <= 0 || embd.as_int() > INT64_MAX / 4)
        throw ConfigConversionError("n_inner is missing or null and n_embd is " +
                                    (embd.present() ? Value::read(embd).str() : std::string("missing")) +
                                    "; expected a positive integer n_embd to derive n_inner = 4 * n_embd");
    work.entry("n_inner").set(4 * embd.as_int());
}

/// ConfigConverter_GPT2Model_HF_CS21: every key it writes is known from cs-2.1, the oldest
/// target, but `name` (docs/config-keys-by-release.md).
std::shared_ptr<DecoderConfig> gpt2_config()
{
    auto t = std::make_shared<DecoderConfig>();
    add_gpt2_config_rows(t->rules, "gpt2", gpt2_attention_type(), true);
    t->pre_defaults[kHfSide] = {{"tie_word_embeddings", true}};
    t->pre_defaults[kCsSide] = {{"share_embedding_weights", true}};
    t->post_defaults[kHfSide] = {{"model_type", "gpt2"}};
    t->post_defaults[kCsSide] = {{"use_bias_in_output", false}, {"name", kRegistryName}};
    t->gates = {registry_name_gate()};
    t->pre = gpt2_pre;
    return t;
}

/// The GPT-2 base shapes with Conv1D weights, and `c_attn` holding q | k | v (`[d, 3d]`).
void gpt2_shapes(ModelShapes& s, ConstNode)
{
    add_gpt2_base_shapes(s, true, true, [&s](const Gpt2BaseShapes& g) {
        s.expect_layers(g.layer + R"(attn\.c_attn\.weight)", g.layers, {g.hidden, 3 * g.hidden});
        s.expect_layers(g.layer + R"(attn\.c_attn\.bias)", g.layers, {3 * g.hidden});
    });
}

DecoderFamily gpt2()
{
    DecoderFamily f;
    f.hf_class = "GPT2LMHeadModel";
    f.hf_headless_class = "GPT2Model";
    f.cs_class = "GPT2LMHeadModel";
    f.registry_name = kRegistryName;
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = [](CheckpointRules& r) {
        add_gpt2_base_rows(r, transpose_if_2d(),
                           {{"attn.c_attn", "self_attn.proj_q_dense_layer", conv1d_c_attn()},
                            {"attn.q_attn", "self_attn.proj_q_dense_layer", refuse_cross_attention()},
                            {"attn.c_attn", "self_attn.proj_k_dense_layer", qkv_sibling()},
                            {"attn.c_attn", "self_attn.proj_v_dense_layer", qkv_sibling()}});
    };
    f.config = gpt2_config;
    f.shapes = gpt2_shapes;
    return f;
}

} // namespace

const DecoderFamily& family()
{
    static const DecoderFamily f = gpt2();
    return f;
}

std::shared_ptr<const CheckpointRules> hf_cs21_rules(bool lm_head)
{
    static const auto lm = family().rules(false);
    static const auto headless = family().rules(true);
    return lm_head ? lm : headless;
}

} // namespace ckpt::gpt2
