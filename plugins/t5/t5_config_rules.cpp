// SPDX-License-Identifier: Apache-2.0
// T5 config rules between Hugging Face and Cerebras (spec/mappings.md §2.5c): the Model Zoo's
// ConfigConverter_T5_HF_CS21/CS23 table, defaults, nonlinearity mapping and CS -> HF pre-checks.
#include "t5.hpp"

namespace ckpt::t5 {

using sdk::ConfigAction;
using sdk::ConfigContext;
using sdk::eq;
using sdk::re;
using sdk::Value;

namespace {

/// HF gated activations and their Cerebras GLU names.
const std::pair<const char*, const char*> kGlu[] = {{"silu", "swiglu"}, {"relu", "reglu"}, {"gelu", "geglu"}};

/// HF `feed_forward_proj` <-> CS `encoder_nonlinearity` (and `decoder_nonlinearity`, which HF
/// cannot express separately).
ConfigAction convert_nonlinearity()
{
    return sdk::config_action("convert_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string& n) {
        const Value v = Value::read(c.src[o]);
        if (v.kind() != Value::Kind::string)
            throw sdk::ConfigConversionError("Can't convert config with " + o + "=" + v.str() + ". Expected a string.");
        const std::string act = v.str();
        if (c.from == 0) {
            std::string cs = act;
            if (act.rfind("gated-", 0) == 0) {
                const std::string base = act.substr(6);
                cs.clear();
                for (const auto& [hf, glu] : kGlu)
                    if (base == hf)
                        cs = glu;
                if (cs.empty())
                    throw sdk::ConfigConversionError("Can't convert config with " + o + "=" + act +
                                                     ". Only ['gated-silu', 'gated-relu', 'gated-gelu'] is supported "
                                                     "for gated activations.");
            }
            c.dst.entry(n).set(cs);
            c.dst.entry("decoder_nonlinearity").set(cs);
            return;
        }
        std::string hf = act;
        if (act.size() >= 3 && act.compare(act.size() - 3, 3, "glu") == 0) {
            hf.clear();
            for (const auto& [base, glu] : kGlu)
                if (act == glu)
                    hf = std::string("gated-") + base;
            if (hf.empty())
                throw sdk::ConfigConversionError("Can't convert config with " + o + "=" + act +
                                                 ". Only ['swiglu', 'reglu', 'geglu'] is supported for GLU "
                                                 "activations.");
        }
        c.dst.entry(n).set(hf);
    });
}

/// CS -> HF: HF has one activation for both stacks.
ConfigAction assert_decoder_nonlinearity()
{
    return sdk::config_action("assert_decoder_nonlinearity", [](ConfigContext& c, const std::string& o, const std::string&) {
        if (c.from == 0)
            return; // HF -> CS: written together with encoder_nonlinearity.
        const Value dec = Value::read(c.src[o]);
        // Absent means the CS model's default, relu.
        const Value enc = c.src.has("encoder_nonlinearity") ? Value::read(c.src["encoder_nonlinearity"]) : Value("relu");
        if (dec != enc)
            throw sdk::ConfigConversionError("Encoder & Decoder nonlinearities must be the same in HF model. Got: " +
                                             enc.str() + " vs " + dec.str());
    });
}

class T5ConfigConverter : public sdk::TableConfigConverter {
public:
    T5ConfigConverter()
    {
        using sdk::assert_value;
        using sdk::rename_key;
        const int hf = 0, cs = 1;
        auto same = [](const char* k) { return std::vector<sdk::Segment>{eq(k, k)}; };
        rules.add(same("norm_type"), assert_value(cs, {Value("rmsnorm")}));
        rules.add(same("use_pre_encoder_decoder_layer_norm"), assert_value(cs, {Value(true)}));
        rules.add(same("model_type"), assert_value(hf, {Value("t5")}));
        rules.add({eq("vocab_size", "src_vocab_size")}, rename_key());
        rules.add(same("d_model"), rename_key());
        rules.add(same("d_kv"), rename_key());
        rules.add(same("d_ff"), rename_key());
        rules.add({eq("num_layers", "encoder_num_hidden_layers")}, rename_key());
        rules.add({eq("num_decoder_layers", "decoder_num_hidden_layers")}, rename_key());
        rules.add(same("num_heads"), rename_key());
        rules.add(same("use_projection_bias_in_attention"), assert_value(cs, {Value(false)}));
        rules.add(same("relative_attention_num_buckets"), rename_key());
        rules.add({eq("tie_word_embeddings", "share_embedding_weights")}, rename_key());
        rules.add(same("is_encoder_decoder"), assert_value(hf, {Value(true)}));
        rules.add(same("relative_attention_max_distance"), assert_value(hf, {Value(128)}));
        rules.add(same("dropout_rate"), rename_key());
        rules.add(same("layer_norm_epsilon"), rename_key());
        rules.add({eq("feed_forward_proj", "encoder_nonlinearity")}, convert_nonlinearity());
        rules.add(same("decoder_nonlinearity"), assert_decoder_nonlinearity());
        rules.add(same("position_embedding_type"), assert_value(cs, {Value("relative")}));
        rules.add({re("(?:src|tgt)_max_position_embeddings")}, sdk::ConfigAction{});
        rules.add(same("use_dropout_outside_residual_path"), assert_value(cs, {Value(true)}));
        rules.add(same("share_encoder_decoder_embedding"), assert_value(cs, {Value(true)}));
        rules.add(same("use_pre_encoder_decoder_dropout"), assert_value(cs, {Value(false)}));
        // Shadowed by the row above (inherited from the cs-1.7 converter, which required False).
        rules.add(same("use_pre_encoder_decoder_layer_norm"), assert_value(cs, {Value(false)}));
        rules.add(same("use_ffn_bias"), assert_value(cs, {Value(false)}));
        rules.add(same("use_transformer_initialization"), assert_value(cs, {Value(false)}));

        pre_defaults[hf] = {{"vocab_size", Value(32128)},
                            {"d_model", Value(512)},
                            {"d_kv", Value(64)},
                            {"d_ff", Value(2048)},
                            {"num_layers", Value(6)},
                            {"num_heads", Value(8)},
                            {"relative_attention_num_buckets", Value(32)},
                            {"relative_attention_max_distance", Value(128)},
                            {"dropout_rate", Value(0.1)},
                            {"layer_norm_epsilon", Value(1e-06)},
                            {"initializer_factor", Value(1)},
                            {"feed_forward_proj", Value("relu")},
                            {"tie_word_embeddings", Value(true)}};
        pre_defaults[cs] = {{"use_projection_bias_in_attention", Value(false)},
                            {"relative_attention_num_buckets", Value(32)},
                            {"share_embedding_weights", Value(true)},
                            {"layer_norm_epsilon", Value(1e-05)},
                            {"position_embedding_type", Value("relative")},
                            {"use_dropout_outside_residual_path", Value(true)},
                            {"share_encoder_decoder_embedding", Value(true)},
                            {"use_pre_encoder_decoder_dropout", Value(false)},
                            {"use_pre_encoder_decoder_layer_norm", Value(true)},
                            {"use_ffn_bias", Value(false)},
                            {"use_transformer_initialization", Value(false)},
                            {"norm_type", Value("rmsnorm")}};
        post_defaults[hf] = {{"model_type", Value("t5")}};
        post_defaults[cs] = {{"src_max_position_embeddings", Value(512)},
                             {"tgt_max_position_embeddings", Value(512)},
                             {"norm_type", Value("rmsnorm")}};
        // Every other key here is known from cs-2.1, the oldest target (docs/config-keys-by-release.md).
        gates = {sdk::registry_name_gate()};
    }

protected:
    void post_convert(ConfigContext& c) const override
    {
        // The registry name depends on the alias asked for (t5 or transformer).
        if (c.from == 0 && !c.dst.has("name"))
            c.dst.entry("name").set(registry_name(c.req.model));
    }

    void pre_convert(ConfigContext& c, Node work) const override
    {
        if (c.from == 0) {
            // transformers' T5Config: num_decoder_layers None means "as many as num_layers".
            ConstNode dec = work["num_decoder_layers"];
            if ((!dec.present() || dec.is_null()) && work.has("num_layers")) {
                const Value layers = Value::read(work["num_layers"]);
                layers.write(work.entry("num_decoder_layers"));
            }
            return;
        }
        same_or_fail(work, "tgt_vocab_size", "src_vocab_size",
                     "HF implementation doesn't allow tgt_vocab_size != src_vocab_size");
        same_or_fail(work, "relu_dropout_rate", "dropout_rate",
                     "HF implementation doesn't allow relu_dropout_rate != dropout_rate");
    }

private:
    static void same_or_fail(Node work, const char* key, const char* ref, const char* why)
    {
        ConstNode v = work[key];
        if (!v.present() || v.is_null())
            return;
        const Value a = Value::read(v), b = Value::read(work[ref]);
        if (a != b)
            throw sdk::ConfigConversionError(std::string(why) + " (" + key + "=" + a.str() + ", " + ref + "=" + b.str() +
                                             ")");
    }
};

} // namespace

const sdk::TableConfigConverter& hf_cs_config()
{
    static const T5ConfigConverter table;
    return table;
}

} // namespace ckpt::t5
