// SPDX-License-Identifier: Apache-2.0
// GPT-2 config rules between Hugging Face and Cerebras cs-2.1+ (spec/mappings.md §2.1c):
// the Model Zoo's ConfigConverter_GPT2Model_HF_CS21 table, defaults and pre-steps.
#include "gpt2.hpp"

#include <cstdint>

namespace ckpt::gpt2 {

using sdk::ConfigAction;
using sdk::ConfigContext;
using sdk::eq;
using sdk::Value;

namespace {

/// HF `scale_attn_weights` (bool) <-> CS `attention_type`.
ConfigAction convert_attention_type()
{
    return sdk::config_action("convert_attention_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const Value v = Value::read(c.src[o]);
        if (c.from == 0) {
            if (v.kind() != Value::Kind::boolean && v.kind() != Value::Kind::integer)
                throw sdk::ConfigConversionError("Can't convert config with " + o + "=" + v.str() +
                                                 ". Only True, False is supported.");
            c.dst.entry(n).set(v == Value(true) ? "scaled_dot_product" : "dot_product");
            return;
        }
        if (v != Value("scaled_dot_product") && v != Value("dot_product"))
            throw sdk::ConfigConversionError("Can't convert config with " + o + "=" + v.str() +
                                             ". Only ['scaled_dot_product', 'dot_product'] is supported.");
        c.dst.entry(n).set(v == Value("scaled_dot_product"));
    });
}

class Gpt2ConfigConverter : public sdk::TableConfigConverter {
public:
    Gpt2ConfigConverter()
    {
        using sdk::assert_value;
        using sdk::rename_key;
        const int hf = 0, cs = 1;
        auto same = [](const char* k) { return std::vector<sdk::Segment>{eq(k, k)}; };
        rules.add(same("norm_type"), assert_value(cs, {Value("layernorm")}));
        rules.add(same("model_type"), assert_value(hf, {Value("gpt2")}));
        rules.add(same("vocab_size"), rename_key());
        rules.add(same("position_embedding_type"), assert_value(cs, {Value("learned")}));
        rules.add(same("use_position_embedding"), assert_value(cs, {Value(true)}));
        rules.add({eq("embd_pdrop", "embedding_dropout_rate")}, rename_key());
        rules.add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key());
        rules.add(same("embedding_layer_norm"), assert_value(cs, {Value(false)}));
        rules.add({eq("n_embd", "hidden_size")}, rename_key());
        rules.add({eq("n_head", "num_heads")}, rename_key());
        rules.add({eq("n_layer", "num_hidden_layers")}, rename_key());
        rules.add({eq("n_positions", "max_position_embeddings")}, rename_key());
        rules.add({eq("scale_attn_weights", "attention_type")}, convert_attention_type());
        rules.add(same("use_projection_bias_in_attention"), assert_value(cs, {Value(true)}));
        rules.add(same("use_ffn_bias_in_attention"), assert_value(cs, {Value(true)}));
        rules.add(same("use_ffn_bias"), assert_value(cs, {Value(true)}));
        rules.add({eq("n_inner", "filter_size")}, rename_key());
        rules.add({eq("activation_function", "nonlinearity")}, rename_key());
        rules.add({eq("attn_pdrop", "attention_dropout_rate")}, rename_key());
        rules.add({eq("resid_pdrop", "dropout_rate")}, rename_key());
        rules.add(same("rotary_dim"), rename_key());
        rules.add(same("layer_norm_epsilon"), rename_key());
        rules.add(same("use_bias_in_output"), assert_value(cs, {Value(false)}));
        rules.add(same("initializer_range"), rename_key());
        rules.add(same("fixed_sparse_attention"), assert_value(cs, {Value(nullptr)}));
        rules.add(same("norm_first"), assert_value(cs, {Value(true)}));
        rules.add(same("use_ff_layer1_dropout"), assert_value(cs, {Value(false)}));
        rules.add(same("scale_attn_by_inverse_layer_idx"), assert_value(hf, {Value(false)}));
        rules.add(same("reorder_and_upcast_attn"), assert_value(hf, {Value(false)}));

        pre_defaults[hf] = {{"tie_word_embeddings", Value(true)}};
        pre_defaults[cs] = {{"share_embedding_weights", Value(true)}};
        post_defaults[hf] = {{"model_type", Value("gpt2")}};
        post_defaults[cs] = {{"use_bias_in_output", Value(false)}, {"name", Value(kRegistryName)}};
        // Every other key here is known from cs-2.1, the oldest target (docs/config-keys-by-release.md).
        gates = {sdk::registry_name_gate()};
    }

protected:
    void pre_convert(ConfigContext& c, Node work) const override
    {
        if (c.from == 0) {
            // GPT-2's n_inner = None means 4 * n_embd; CS needs the number.
            ConstNode inner = work["n_inner"];
            if (!inner.present() || inner.is_null()) {
                ConstNode embd = work["n_embd"];
                if (!embd.present() || embd.kind() != CKPT_NODE_INT || embd.as_int() <= 0 ||
                    embd.as_int() > INT64_MAX / 4)
                    throw sdk::ConfigConversionError("n_inner is missing or null and n_embd is " +
                                                     (embd.present() ? Value::read(embd).str() : std::string("missing")) +
                                                     "; expected a positive integer n_embd to derive n_inner = 4 * n_embd");
                work.entry("n_inner").set(static_cast<int64_t>(4 * embd.as_int()));
            }
            return;
        }
        // CS dropouts default to dropout_rate; HF has three separate ones.
        ConstNode dropout = work["dropout_rate"];
        if (!dropout.present())
            return;
        const Value rate = Value::read(dropout); // read first: inserting may move the node
        for (const char* key : {"embedding_dropout_rate", "attention_dropout_rate"})
            if (!work.has(key))
                rate.write(work.entry(key));
    }
};

} // namespace

const sdk::TableConfigConverter& hf_cs21_config()
{
    static const Gpt2ConfigConverter table;
    return table;
}

} // namespace ckpt::gpt2
