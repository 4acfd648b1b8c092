// SPDX-License-Identifier: Apache-2.0
// What the families whose CS model is GPT2LMHeadModel with GPT-2's HF names share on top of the
// decoder helper (StarCoder, SantaCoder, BTLM, JAIS, GPT-2 itself): the key table of a GPT-2
// base model with the family's attention rows, the GPT-2 config rows, `attention_type` and the
// config pre-steps (spec/mappings.md §2.1, §2.13, §2.14).
#pragma once

#include <ckptconv/cpp/decoder.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ckpt::sdk {

/// The key table of a GPT-2 base model (HF names relative to `transformer.`): learned positions,
/// word embeddings, per layer the attention output `attn.c_proj`, the family's `attention` rows,
/// `ln_1`/`ln_2` and the MLP, then the final norm, the legacy CS `ln_f` and HF's attention
/// buffers (matched and dropped). `linear` converts c_proj and the MLP: a copy for nn.Linear
/// models, transpose_if_2d() for GPT-2's Conv1D.
inline void add_gpt2_base_rows(CheckpointRules& r, const CheckpointAction& linear, const std::vector<KeyRow>& attention)
{
    add_rows(r, {{"wpe", "embedding_layer.position_embeddings.embed", copy_scaled()},
                 {"wte", "embedding_layer.word_embeddings", copy_scaled()},
                 // The pre-2.1 name: reachable CS -> HF only (the row above wins HF -> CS).
                 {"wpe", "embedding_layer.position_embeddings", copy_scaled()}});
    std::vector<KeyRow> layer{{"attn.c_proj", "self_attn.proj_output_dense_layer", linear}};
    layer.insert(layer.end(), attention.begin(), attention.end());
    layer.insert(layer.end(), {{"ln_1", "norm1", copy_scaled()},
                               {"ln_2", "norm3", copy_scaled()},
                               {"mlp.c_fc", "ffn.ffn.0.linear_layer", linear},
                               {"mlp.c_proj", "ffn.ffn.1.linear_layer", linear}});
    add_layer_rows(r, "h", layer);
    add_rows(r, {{"ln_f", "transformer_decoder.norm", final_norm()}});
    r.add({re(R"(ln_f\.(?:weight|bias))")}, drop_tensor());
    r.add({re(R"(h\.\d+\.attn\.(?:masked_bias|bias))")}, drop_tensor());
}

/// GPT-2's c_attn_converter: HF Conv1D `attn.c_attn` (weight `[d, 3d]`, bias `[3d]`, q | k | v)
/// <-> CS proj_q/k/v_dense_layer (`[d, d]`, `[d]`). HF -> CS acts on the fused key; CS -> HF on
/// the proj_q key, reading its k and v siblings (their own rows are qkv_sibling()), muP-folded
/// on the way to HF as copy_scaled() folds.
inline CheckpointAction conv1d_c_attn()
{
    return {"c_attn_converter", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const std::string q = "proj_q_dense_layer";
                auto sibling = [&q](std::string name, const char* part) {
                    return name.replace(name.rfind(q), q.size(), part);
                };
                if (c.from == kHfSide) {
                    const ckpt_value_id fused = c.plan.input(o);
                    const auto shape = c.plan.value_info(fused).shape;
                    if (shape.empty() || shape.back() % 3 != 0 || (shape.size() == 2 && shape[1] != 3 * shape[0]) ||
                        shape.size() > 2)
                        throw Error(CKPT_ERR_BAD_INPUT, "tensor " + o + ": expected a Conv1D q|k|v of shape [d, 3d] "
                                                                        "(or a bias [3d])");
                    split_qkv(c.plan, fused, {n, sibling(n, "proj_k_dense_layer"), sibling(n, "proj_v_dense_layer")},
                              true);
                    return;
                }
                const std::array<std::string, 3> names{o, sibling(o, "proj_k_dense_layer"), sibling(o, "proj_v_dense_layer")};
                std::array<ckpt_value_id, 3> parts{};
                for (size_t i = 0; i < 3; ++i) {
                    parts[i] = load_scaled(c, names[i]);
                    if (c.plan.value_info(parts[i]).shape != c.plan.value_info(parts[0]).shape)
                        throw Error(CKPT_ERR_BAD_INPUT, "tensor " + names[i] + " does not have the shape of " + o +
                                                            ": q, k and v must be equal to join into c_attn");
                }
                join_qkv(c.plan, parts, n, true);
            }};
}

/// HF `attn.q_attn` is GPT-2's cross-attention, which the CS GPT2LMHeadModel does not have.
inline CheckpointAction refuse_cross_attention()
{
    return {"assert_already_converted", [](CheckpointContext&, const std::string& o, const std::string&) {
                throw Error(CKPT_ERR_UNSUPPORTED, "tensor " + o + ": cross-attention (q_attn) weights cannot be "
                                                                  "converted; the Cerebras GPT2LMHeadModel has no "
                                                                  "cross-attention");
            }};
}

/// HF `scale_attn_weights` (a flag) <-> CS `attention_type` (ConfigConverter_GPT2Model_HF_CS17's
/// convert_attention_type, which the GPT2LMHeadModel families inherit).
inline ConfigAction convert_attention_type()
{
    return config_action("convert_attention_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
        if (c.from == kHfSide) {
            c.dst.entry(n).set(config_flag_or(c.src, o, false, "HF") ? "scaled_dot_product" : "dot_product");
            return;
        }
        const Value v = Value::read(c.src[o]);
        if (v != Value("scaled_dot_product") && v != Value("dot_product"))
            throw ConfigConversionError("Can't convert config with " + o + "=" + v.str() +
                                        ". Only scaled_dot_product and dot_product is supported.");
        c.dst.entry(n).set(v == Value("scaled_dot_product"));
    });
}

/// The rows of ConfigConverter_GPT2Model_HF_CS20 from `norm_type` to `use_ff_layer1_dropout`, in
/// its order, with `model_type` asserted to be `hf_model_type` and `attention_type` converted by
/// `attention_type`. `gpt2_tail` adds GPT-2's two HF-only asserts that close its table
/// (`scale_attn_by_inverse_layer_idx`, `reorder_and_upcast_attn` must be False).
inline void add_gpt2_config_rows(ConfigRules& rules, const std::string& hf_model_type, const ConfigAction& attention_type,
                                 bool gpt2_tail)
{
    const ConfigAction copy = rename_key();
    rules.add({key("norm_type")}, assert_value(kCsSide, {"layernorm"}))
        .add({key("model_type")}, assert_value(kHfSide, {Value(hf_model_type)}))
        .add({key("vocab_size")}, copy)
        .add({key("position_embedding_type")}, assert_value(kCsSide, {"learned"}))
        .add({key("use_position_embedding")}, assert_value(kCsSide, {true}))
        .add({eq("embd_pdrop", "embedding_dropout_rate")}, copy)
        .add({eq("tie_word_embeddings", "share_embedding_weights")}, copy)
        .add({key("embedding_layer_norm")}, assert_value(kCsSide, {false}))
        .add({eq("n_embd", "hidden_size")}, copy)
        .add({eq("n_head", "num_heads")}, copy)
        .add({eq("n_layer", "num_hidden_layers")}, copy)
        .add({eq("n_positions", "max_position_embeddings")}, copy)
        .add({eq("scale_attn_weights", "attention_type")}, attention_type)
        .add({key("use_projection_bias_in_attention")}, assert_value(kCsSide, {true}))
        .add({key("use_ffn_bias_in_attention")}, assert_value(kCsSide, {true}))
        .add({key("use_ffn_bias")}, assert_value(kCsSide, {true}))
        .add({eq("n_inner", "filter_size")}, copy)
        .add({eq("activation_function", "nonlinearity")}, copy)
        .add({eq("attn_pdrop", "attention_dropout_rate")}, copy)
        .add({eq("resid_pdrop", "dropout_rate")}, copy)
        .add({key("rotary_dim")}, copy)
        .add({key("layer_norm_epsilon")}, copy)
        .add({key("use_bias_in_output")}, assert_value(kCsSide, {false}))
        .add({key("initializer_range")}, copy)
        .add({key("fixed_sparse_attention")}, assert_value(kCsSide, {nullptr}))
        .add({key("norm_first")}, assert_value(kCsSide, {true}))
        .add({key("use_ff_layer1_dropout")}, assert_value(kCsSide, {false}));
    if (gpt2_tail)
        rules.add({key("scale_attn_by_inverse_layer_idx")}, assert_value(kHfSide, {false}))
            .add({key("reorder_and_upcast_attn")}, assert_value(kHfSide, {false}));
}

/// GPT-2's config pre-steps: on HF -> CS an unset `n_inner` means 4 * n_embd (transformers'
/// GPT2Config); on CS -> HF the embedding and attention dropouts default to `dropout_rate`.
inline void gpt2_config_pre(ConfigContext& c, Node work)
{
    if (c.from == kHfSide) {
        if (detail::unset(work["n_inner"])) {
            const int64_t embd = config_int(work, "n_embd", "HF");
            if (embd <= 0 || embd > INT64_MAX / 4)
                throw ConfigConversionError("n_inner is unset and n_embd is " + std::to_string(embd) +
                                            "; a positive n_embd is needed to derive n_inner = 4 * n_embd");
            work.entry("n_inner").set(4 * embd);
        }
        return;
    }
    if (!work.has("dropout_rate"))
        return;
    const Value rate = Value::read(work["dropout_rate"]); // read first: inserting may move the node
    for (const char* k : {"embedding_dropout_rate", "attention_dropout_rate"})
        if (!work.has(k))
            rate.write(work.entry(k));
}

/// What add_gpt2_base_shapes read from the config, for the family's attention rows.
struct Gpt2BaseShapes {
    int64_t hidden = 0, heads = 0, layers = 0;
    std::string layer; // the per-layer pattern prefix, `{layer}` standing for the index
    int64_t head_dim() const { return heads > 0 ? hidden / heads : 0; }
    int64_t inner = 0; // the MLP width (n_inner, 4 * n_embd when unset), for a family's GLU gate
};

/// The HF tensor shapes of a GPT-2 base model the config implies (model_shapes.hpp; the headless
/// names accepted), all but the family's q/k/v projections: embeddings, norms, `attn.c_proj`, the
/// MLP and an optional `lm_head`. `conv1d`: weights are stored `[in, out]` (GPT-2's Conv1D),
/// else `[out, in]` (nn.Linear). `learned_positions` false (ALiBi models such as BTLM): `wpe` is
/// optional, checked only when present. `attention`, when given, declares the family's q/k/v
/// shapes between the layer norms and `attn.c_proj` (the order contradictions are listed in).
inline Gpt2BaseShapes add_gpt2_base_shapes(ModelShapes& s, bool conv1d, bool learned_positions = true,
                                           const std::function<void(const Gpt2BaseShapes&)>& attention = {})
{
    Gpt2BaseShapes g;
    g.hidden = s.size("n_embd", "hidden_size");
    g.heads = s.size("n_head", "num_heads");
    g.layers = s.count("n_layer", "num_hidden_layers");
    const int64_t d = g.hidden;
    const int64_t vocab = s.size("vocab_size", "vocab_size");
    const int64_t positions = s.size("n_positions", "max_position_embeddings");
    const int64_t inner = s.size("n_inner", "filter_size", d > 0 ? 4 * d : 0);
    g.inner = inner;
    s.require_multiple("n_embd", d, "n_head", g.heads);
    const auto weight = [conv1d](int64_t out, int64_t in) {
        return conv1d ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
    };
    const std::string p = R"((?:transformer\.)?)";
    s.expect(p + R"(wte\.weight)", {vocab, d});
    s.expect(p + R"(wpe\.weight)", {positions, d}, learned_positions);
    s.expect(p + R"(ln_f\.(?:weight|bias))", {d});
    s.expect(R"(lm_head\.weight)", {vocab, d}, false);
    g.layer = p + R"(h\.{layer}\.)";
    s.expect_layers(g.layer + R"(ln_[12]\.(?:weight|bias))", g.layers, {d});
    if (attention)
        attention(g);
    s.expect_layers(g.layer + R"(attn\.c_proj\.weight)", g.layers, weight(d, d));
    s.expect_layers(g.layer + R"(attn\.c_proj\.bias)", g.layers, {d});
    s.expect_layers(g.layer + R"(mlp\.c_fc\.weight)", g.layers, weight(inner, d));
    s.expect_layers(g.layer + R"(mlp\.c_fc\.bias)", g.layers, {inner});
    s.expect_layers(g.layer + R"(mlp\.c_proj\.weight)", g.layers, weight(d, inner));
    s.expect_layers(g.layer + R"(mlp\.c_proj\.bias)", g.layers, {d});
    return g;
}

} // namespace ckpt::sdk
