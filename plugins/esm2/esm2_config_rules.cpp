// SPDX-License-Identifier: Apache-2.0
// ESM-2 config rules between Hugging Face EsmConfig and the Cerebras ESM-2 model config: the
// Model Zoo's ConfigConverter_Esm2_HF_CS21 (its own rows first, then the BERT rows it inherits),
// defaults and pre/post steps (docs/mappings-esm2-clip-mixtral.md §1.3).
#include "esm2.hpp"

namespace ckpt::esm2 {

using sdk::ConfigAction;
using sdk::ConfigContext;
using sdk::ConfigConversionError;
using sdk::eq;
using sdk::Value;

namespace {

constexpr int kHf = 0;
constexpr int kCs = 1;

std::vector<sdk::Segment> same(const char* key) { return {eq(key, key)}; }

const char* side_name(int side) { return side == kHf ? "HF" : "CS"; }

/// HF counts the padding offset in its learned position table (`pad_token_id + 1` more rows);
/// CS's max_position_embeddings is the sequence length. Rotary models keep the value.
ConfigAction convert_max_pos_embed()
{
    return sdk::config_action("convert_max_pos_embed", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const std::string type = config_string_or(c.src, "position_embedding_type", "");
        const bool learned = (c.from == kHf && type == "absolute") || (c.from == kCs && type == "learned");
        if (!learned) {
            c.dst.entry(n).assign(c.src[o]);
            return;
        }
        ConstNode pad_node = c.src["pad_token_id"];
        if (!pad_node.present() || pad_node.is_null())
            throw ConfigConversionError("pad_token_id must be provided for learned position embeddings (" +
                                        std::string(side_name(c.from)) + " config has none)");
        sdk::convert_padded_positions(c, o, n, side_name(c.from));
    });
}

/// HF `rotary` <-> CS `rotary`; HF `absolute` <-> CS `learned` with padding masked in the CS
/// position embedding (which HF's absolute table assumes).
ConfigAction convert_position_embedding_type()
{
    return sdk::config_action(
        "convert_position_embedding_type", [](ConfigContext& c, const std::string& o, const std::string& n) {
            const std::string v = c.src[o].kind() == CKPT_NODE_STRING ? c.src[o].as_string() : Value::read(c.src[o]).str();
            if (v == "rotary") {
                c.dst.entry(n).set(v);
            } else if (c.from == kHf) {
                if (v != "absolute")
                    throw ConfigConversionError("CS model doesn't support HF's position_embedding_type=" + v);
                c.dst.entry(n).set("learned");
                c.dst.entry("mask_padding_in_positional_embed").set(true);
            } else {
                if (v != "learned")
                    throw ConfigConversionError("HF model doesn't support CS's position_embedding_type=" + v);
                if (Value::read(c.src["mask_padding_in_positional_embed"]) != Value(true))
                    throw ConfigConversionError("ESM-2 trained in CS with learned embeddings must have "
                                                "mask_padding_in_positional_embed=True in order to convert to HF");
                c.dst.entry(n).set("absolute");
            }
        });
}

/// Token dropout rescales by the share of masked tokens, so it needs the mask token.
ConfigAction replace_token_dropout()
{
    return sdk::config_action("replace_token_dropout", [](ConfigContext& c, const std::string& o, const std::string& n) {
        ConstNode mask = c.src["mask_token_id"];
        if (Value::read(c.src[o]) == Value(true) && (!mask.present() || mask.is_null()))
            throw ConfigConversionError("mask_token_id must be provided when token_dropout is enabled");
        c.dst.entry(n).assign(c.src[o]);
    });
}

/// HF rotates the whole head: a CS rotary_dim other than hidden_size / num_heads has no HF form.
ConfigAction assert_rotary_dim()
{
    return sdk::config_action("assert_rotary_dim", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from != kCs)
            throw ConfigConversionError(o + " should only exist in CS config");
        if (config_string_or(c.src, "position_embedding_type", "") != "rotary")
            return;
        const int64_t heads = config_int(c.src, "num_heads", "CS");
        if (heads <= 0 || config_int(c.src, o, "CS") != config_int(c.src, "hidden_size", "CS") / heads)
            throw ConfigConversionError("rotary_dim must be hidden_size // num_heads in order to be compatible with HF");
    });
}

class Esm2ConfigConverter : public sdk::TableConfigConverter {
public:
    Esm2ConfigConverter()
    {
        using sdk::assert_value;
        using sdk::rename_key;
        // ConfigConverter_Esm2_HF_CS21's own rows; they shadow the BERT rows below for the same keys.
        rules.add(same("max_position_embeddings"), convert_max_pos_embed());
        rules.add(same("encoder_nonlinearity"), assert_value(kCs, {Value("gelu")}));
        rules.add(same("mlm_nonlinearity"), assert_value(kCs, {Value("gelu")}));
        rules.add(same("use_final_layer_norm"), assert_value(kCs, {Value(true)}));
        rules.add({eq("emb_layer_norm_before", "embedding_layer_norm")}, rename_key());
        rules.add(same("token_dropout"), replace_token_dropout());
        rules.add(same("mask_token_id"), rename_key());
        rules.add(same("pad_token_id"), rename_key());
        rules.add(same("disable_nsp"), assert_value(kCs, {Value(true)}));
        rules.add(same("rotary_dim"), assert_rotary_dim());
        // ConfigConverter_Bert_HF_CS21's rows, with `esm` as the model type.
        rules.add(same("model_type"), assert_value(kHf, {Value("esm")}));
        rules.add(same("vocab_size"), rename_key());
        rules.add(same("position_embedding_type"), convert_position_embedding_type());
        rules.add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key());
        rules.add(same("hidden_size"), rename_key());
        rules.add({eq("num_attention_heads", "num_heads")}, rename_key());
        rules.add(same("num_hidden_layers"), rename_key());
        rules.add({eq("intermediate_size", "filter_size")}, rename_key());
        rules.add({eq("hidden_act", "encoder_nonlinearity")}, rename_key());
        rules.add(same("pooler_nonlinearity"), assert_value(kCs, {Value("tanh")}));
        rules.add({eq("hidden_dropout_prob", "dropout_rate")}, rename_key());
        rules.add({eq("attention_probs_dropout_prob", "attention_dropout_rate")}, rename_key());
        rules.add(same("type_vocab_size"), assert_value(kHf, {Value(2)}));
        rules.add(same("is_decoder"), assert_value(kHf, {Value(false)}));
        rules.add(same("add_cross_attention"), assert_value(kHf, {Value(false)}));
        rules.add({eq("layer_norm_eps", "layer_norm_epsilon")}, rename_key());
        rules.add(same("attention_type"), assert_value(kCs, {Value("scaled_dot_product")}));
        for (const char* flag : {"use_projection_bias_in_attention", "use_ffn_bias_in_attention", "use_ffn_bias",
                                 "use_ffn_bias_in_mlm", "use_output_bias_in_mlm"})
            rules.add(same(flag), assert_value(kCs, {Value(true)}));
        rules.add(same("initializer_range"), rename_key());

        pre_defaults[kHf] = {{"vocab_size", Value(30522)},
                             {"hidden_size", Value(768)},
                             {"num_hidden_layers", Value(12)},
                             {"num_attention_heads", Value(12)},
                             {"intermediate_size", Value(3072)},
                             {"hidden_act", Value("gelu")},
                             {"hidden_dropout_prob", Value(0.1)},
                             {"attention_probs_dropout_prob", Value(0.1)},
                             {"max_position_embeddings", Value(512)},
                             {"layer_norm_eps", Value(1e-12)},
                             {"tie_word_embeddings", Value(true)},
                             {"mask_token_id", Value()},
                             {"pad_token_id", Value()},
                             {"token_dropout", Value(false)},
                             {"emb_layer_norm_before", Value(false)}};
        pre_defaults[kCs] = {{"share_embedding_weights", Value(true)},
                             {"encoder_nonlinearity", Value("gelu")},
                             {"disable_nsp", Value(false)},
                             {"pad_token_id", Value(0)},
                             {"mask_padding_in_positional_embed", Value(false)},
                             {"use_final_layer_norm", Value(false)},
                             {"token_dropout", Value(false)},
                             {"embedding_layer_norm", Value(true)}};
        // The Model Zoo writes model_type `bert` here, which transformers loads as the wrong class.
        post_defaults[kHf] = {{"model_type", Value("esm")},
                              {"is_folding_model", Value(false)},
                              {"esmfold_config", Value()}};
        post_defaults[kCs] = {{"freeze_ffn_bias_in_glu", Value(false)},
                              {"use_final_layer_norm", Value(true)},
                              {"disable_nsp", Value(true)}};
    }

protected:
    void post_convert(ConfigContext& c) const override
    {
        if (c.from != kHf || config_string_or(c.dst, "position_embedding_type", "") != "rotary")
            return;
        const int64_t heads = config_int(c.dst, "num_heads", "CS");
        if (heads <= 0)
            throw ConfigConversionError("Can't convert config with num_attention_heads=" + std::to_string(heads));
        c.dst.entry("rotary_dim").set(config_int(c.dst, "hidden_size", "CS") / heads);
    }
};

} // namespace

const sdk::TableConfigConverter& hf_cs_config()
{
    static const Esm2ConfigConverter converter;
    return converter;
}

} // namespace ckpt::esm2
