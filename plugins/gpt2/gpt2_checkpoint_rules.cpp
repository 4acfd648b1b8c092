// SPDX-License-Identifier: Apache-2.0
// GPT-2 checkpoint rules between Hugging Face and Cerebras cs-2.1+ (spec/mappings.md §2.1b), as
// one bidirectional table with the Model Zoo's action names (they show in --debug output).
#include "gpt2.hpp"

#include <ckptconv/cpp/transforms.hpp>

#include <string>

namespace ckpt::gpt2 {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

namespace {

const char* const kWeightOrBias = R"(\.(?:weight|bias))";

std::string shape_str(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// `key` with the last occurrence of `from` replaced by `to`.
std::string replace_last(const std::string& key, const std::string& from, const std::string& to)
{
    const size_t at = key.rfind(from);
    if (at == std::string::npos)
        throw sdk::Error(CKPT_ERR_INTERNAL, "gpt2 rules: '" + key + "' does not contain '" + from + "'");
    return key.substr(0, at) + to + key.substr(at + from.size());
}

CheckpointAction replace_key()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, source_value(c, o));
            }};
}

CheckpointAction transpose_key_if_2d()
{
    return {"transpose_key_if_2D", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                ckpt_value_id id = source_value(c, o);
                if (c.plan.value_info(id).shape.size() == 2)
                    c.plan.transpose(n, id);
                else
                    c.plan.copy(n, id);
            }};
}

/// HF -> CS: the Conv1D `c_attn` [d, 3d] (or its bias [3d]) becomes q, k, v; CS -> HF (on the q
/// key): q, k and v are joined back. The k and v keys are matched by assert_already_converted.
CheckpointAction c_attn_converter()
{
    return {"c_attn_converter", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (c.from == 0) {
                    ckpt_value_id fused = source_value(c, o);
                    const auto shape = c.plan.value_info(fused).shape;
                    const bool ok = (shape.size() == 2 && shape[1] % 3 == 0 && shape[1] / 3 == shape[0]) ||
                                    (shape.size() == 1 && shape[0] % 3 == 0);
                    if (!ok)
                        throw sdk::Error(CKPT_ERR_BAD_INPUT,
                                         "tensor '" + o + "': expected a fused q|k|v of shape [d, 3d] or [3d], found " +
                                             shape_str(shape));
                    sdk::split_qkv(c.plan, fused,
                                   {n, replace_last(n, "proj_q_dense_layer", "proj_k_dense_layer"),
                                    replace_last(n, "proj_q_dense_layer", "proj_v_dense_layer")},
                                   true);
                    return;
                }
                const std::string k = replace_last(o, "proj_q_dense_layer", "proj_k_dense_layer");
                const std::string v = replace_last(o, "proj_q_dense_layer", "proj_v_dense_layer");
                std::array<ckpt_value_id, 3> parts{source_value(c, o), source_value(c, k), source_value(c, v)};
                const auto q_shape = c.plan.value_info(parts[0]).shape;
                for (int i = 1; i < 3; ++i) {
                    const auto s = c.plan.value_info(parts[static_cast<size_t>(i)]).shape;
                    if (s != q_shape)
                        throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + (i == 1 ? k : v) + "': expected the shape of '" +
                                                                 o + "' " + shape_str(q_shape) + ", found " + shape_str(s));
                }
                sdk::join_qkv(c.plan, parts, n, true);
            }};
}

/// The Model Zoo's assert_already_converted: k and v were consumed with q; q_attn (GPT-2
/// cross-attention) has no Cerebras counterpart.
CheckpointAction assert_already_converted()
{
    return {"assert_already_converted", [](CheckpointContext& c, const std::string& o, const std::string&) {
                if (c.from == 0)
                    throw sdk::Error(CKPT_ERR_UNSUPPORTED,
                                     "tensor '" + o + "': cross-attention (q_attn) weights cannot be converted; "
                                     "the Cerebras GPT-2 model has no cross-attention");
                const std::string q = o.find("proj_k_dense_layer") != std::string::npos
                                          ? replace_last(o, "proj_k_dense_layer", "proj_q_dense_layer")
                                          : replace_last(o, "proj_v_dense_layer", "proj_q_dense_layer");
                // q converts the fused tensor; without it this key would silently vanish.
                if (!has_input(c.plan, q))
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "' has no matching '" + q +
                                                             "': q, k and v are needed to build c_attn");
                c.plan.input(o);
            }};
}

/// HF's final norm is written twice on the CS side (transformer_decoder.norm and the cs-1.7
/// legacy ln_f); CS -> HF reads transformer_decoder.norm and drops ln_f.
CheckpointAction replace_final_norm()
{
    return {"replace_final_norm", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                ckpt_value_id id = source_value(c, o);
                c.plan.copy(n, id);
                if (c.from == 0)
                    c.plan.copy(replace_last(n, "transformer_decoder.norm", "ln_f"), id);
            }};
}

std::shared_ptr<CheckpointRules> layer_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({eq("attn.c_proj", "self_attn.proj_output_dense_layer"), re(kWeightOrBias)}, transpose_key_if_2d());
    r->add({eq("attn.c_attn", "self_attn.proj_q_dense_layer"), re(kWeightOrBias)}, c_attn_converter());
    r->add({eq("attn.q_attn", "self_attn.proj_q_dense_layer"), re(kWeightOrBias)}, assert_already_converted());
    r->add({eq("attn.c_attn", "self_attn.proj_k_dense_layer"), re(kWeightOrBias)}, assert_already_converted());
    r->add({eq("attn.c_attn", "self_attn.proj_v_dense_layer"), re(kWeightOrBias)}, assert_already_converted());
    r->add({eq("ln_1", "norm1"), re(kWeightOrBias)}, replace_key());
    r->add({eq("ln_2", "norm3"), re(kWeightOrBias)}, replace_key());
    r->add({eq("mlp.c_fc", "ffn.ffn.0.linear_layer"), re(kWeightOrBias)}, transpose_key_if_2d());
    r->add({eq("mlp.c_proj", "ffn.ffn.1.linear_layer"), re(kWeightOrBias)}, transpose_key_if_2d());
    return r;
}

/// Converter_GPT2Model_HF_CS21's rules: HF GPT2Model keys (no `transformer.` prefix).
std::shared_ptr<CheckpointRules> model_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({eq("wpe", "embedding_layer.position_embeddings.embed"), re(kWeightOrBias)}, replace_key());
    r->add({eq("wte", "embedding_layer.word_embeddings"), re(kWeightOrBias)}, replace_key());
    // The pre-2.1 name, reachable CS -> HF only (the row above wins HF -> CS).
    r->add({eq("wpe", "embedding_layer.position_embeddings"), re(kWeightOrBias)}, replace_key());
    r->add({eq("h", "transformer_decoder.layers"), re(R"(\.\d+\.)")}, layer_rules());
    r->add({eq("ln_f", "transformer_decoder.norm"), re(kWeightOrBias)}, replace_final_norm());
    r->add({eq("lm_head", "lm_head"), re(kWeightOrBias)}, sdk::drop_tensor());
    r->add({eq("ln_f", "ln_f"), re(kWeightOrBias)}, sdk::drop_tensor());
    // HF's attention buffers: never CS tensors, dropped (and, by design, not regenerated).
    r->add({re(R"(h\.\d+\.attn\.(?:masked_bias|bias))")}, sdk::drop_tensor());
    return r;
}

std::shared_ptr<const CheckpointRules> build(bool lm_head)
{
    std::shared_ptr<CheckpointRules> body;
    if (lm_head) {
        body = std::make_shared<CheckpointRules>();
        body->add({re(R"(lm_head\.(?:weight|bias))")}, replace_key());
        body->add({eq("transformer.", "")}, model_rules());
    } else {
        body = model_rules();
    }
    // Build_HF_CS_Converter_WithOptionalModel: CS keys may carry a legacy `model.` prefix.
    auto top = std::make_shared<CheckpointRules>();
    top->add({eq("", "")}, body);
    top->add({eq("", "model.")}, body);
    return top;
}

} // namespace

std::shared_ptr<const CheckpointRules> hf_cs21_rules(bool lm_head)
{
    static const auto lm = build(true);
    static const auto headless = build(false);
    return lm_head ? lm : headless;
}

bool has_input(const Plan& plan, const std::string& name)
{
    for (size_t i = 0, n = plan.input_count(); i < n; ++i)
        if (plan.input_info(i).name == name)
            return true;
    return false;
}

ckpt_value_id source_value(CheckpointContext& ctx, const std::string& name)
{
    ckpt_value_id id = 0;
    try {
        id = ctx.plan.input(name);
    } catch (const sdk::Error& e) {
        if (e.status() != CKPT_ERR_NOT_FOUND)
            throw;
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "the checkpoint has no tensor '" + name + "', which the gpt2 conversion needs");
    }
    if (ctx.from == 1) {
        const double f = mup_factor(ctx.config[1], name);
        if (f != 1.0)
            return ctx.plan.scale("", id, f);
    }
    return id;
}

} // namespace ckpt::gpt2
