// SPDX-License-Identifier: Apache-2.0
// BERT and RoBERTa checkpoint rules between Hugging Face and Cerebras (spec/mappings.md §2.3 b,
// §2.15), one bidirectional table per variant with the Model Zoo's action names (they show in
// --debug output), plus the tied tensors Hugging Face files may omit.
#include "bert.hpp"

#include <string>

namespace ckpt::bert {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

namespace {

const char* const kWeightOrBias = "(?:weight|bias)";
const char* const kClassifierBias = "bert_mlm_head.classifier.ffn.0.linear_layer.bias";
const char* const kClassifierWeight = "bert_mlm_head.classifier.ffn.0.linear_layer.weight";

std::string shape_str(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// `key` with its last `from` replaced by `to`; `key` itself when `from` does not occur.
std::string replace_last(const std::string& key, const std::string& from, const std::string& to)
{
    const size_t at = key.rfind(from);
    return at == std::string::npos ? key : key.substr(0, at) + to + key.substr(at + from.size());
}

/// A copy under a Model Zoo action name (the names only matter for --debug lines).
CheckpointAction named_copy(const char* name)
{
    return {name,
            [](CheckpointContext& c, const std::string& o, const std::string& n) { c.plan.copy(n, c.plan.input(o)); }};
}

/// convert_cls_predictions_bias: the MLM decoder bias; CS -> HF also writes the HF head's own
/// `bias` parameter, of which `decoder.bias` is a tied alias in transformers.
CheckpointAction convert_cls_predictions_bias()
{
    return {"convert_cls_predictions_bias", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = c.plan.input(o);
                if (c.from == 1) {
                    // Planned first: safetensors keeps the first name of an alias group, and
                    // transformers' own safetensors files keep this one.
                    std::string alias = replace_last(n, "cls.predictions.decoder.bias", "cls.predictions.bias");
                    if (alias == n)
                        alias = replace_last(n, "lm_head.decoder.bias", "lm_head.bias");
                    if (alias != n)
                        c.plan.copy(alias, id);
                }
                c.plan.copy(n, id);
            }};
}

/// HF `cls.predictions.bias` / `lm_head.bias`: the Model Zoo drops it (the decoder bias is the
/// one converted). A safetensors file keeps only this alias of the pair, so when the decoder
/// bias is absent this tensor takes its place instead of the bias being lost.
CheckpointAction mlm_bias_alias(const char* decoder_bias)
{
    return {"None", [decoder_bias](CheckpointContext& c, const std::string& o, const std::string&) {
                if (c.from == 0 && !has_input(c.plan, decoder_bias)) {
                    c.plan.copy(kClassifierBias, c.plan.input(o));
                    c.req.log(CKPT_LOG_INFO, std::string(kClassifierBias) + " taken from " + o +
                                                 " (the checkpoint has no " + decoder_bias + ", its tied alias)");
                    return;
                }
                c.plan.drop(o);
            }};
}

std::shared_ptr<CheckpointRules> layer_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    auto wb = [](const char* hf, const char* cs) { return std::vector<sdk::Segment>{eq(hf, cs), re(kWeightOrBias)}; };
    r->add(wb("attention.self.query.", "self_attn.proj_q_dense_layer."), sdk::copy_tensor());
    r->add(wb("attention.self.key.", "self_attn.proj_k_dense_layer."), sdk::copy_tensor());
    r->add(wb("attention.self.value.", "self_attn.proj_v_dense_layer."), sdk::copy_tensor());
    r->add(wb("attention.output.dense.", "self_attn.proj_output_dense_layer."), sdk::copy_tensor());
    r->add(wb("attention.output.LayerNorm.", "norm1."), sdk::copy_tensor());
    r->add({eq("attention.output.LayerNorm.gamma", "norm1.weight")}, sdk::copy_tensor());
    r->add({eq("attention.output.LayerNorm.beta", "norm1.bias")}, sdk::copy_tensor());
    r->add(wb("intermediate.dense.", "ffn.ffn.0.linear_layer."), sdk::copy_tensor());
    r->add(wb("output.dense.", "ffn.ffn.1.linear_layer."), sdk::copy_tensor());
    r->add(wb("output.LayerNorm.", "norm2."), sdk::copy_tensor());
    r->add({eq("output.LayerNorm.gamma", "norm2.weight")}, sdk::copy_tensor());
    r->add({eq("output.LayerNorm.beta", "norm2.bias")}, sdk::copy_tensor());
    return r;
}

/// The encoder below the `bert.` / `roberta.` (HF) and `bert_encoder.` / `bert.` (CS) prefix.
std::shared_ptr<CheckpointRules> encoder_rules(CsKeys keys)
{
    auto r = std::make_shared<CheckpointRules>();
    const bool cs21 = keys == CsKeys::cs21;
    r->add({eq("embeddings.position_embeddings.weight", cs21 ? "embedding_layer.position_embeddings.embed.weight"
                                                             : "embedding_layer.position_embeddings.weight")},
           named_copy("position_embeddings_convert"));
    r->add({eq("embeddings.word_embeddings.weight", "embedding_layer.word_embeddings.weight")}, sdk::copy_tensor());
    if (cs21) // the pre-2.1 spelling, reachable CS -> HF only
        r->add({eq("embeddings.position_embeddings.weight", "embedding_layer.position_embeddings.weight")},
               named_copy("position_embeddings_convert"));
    r->add({eq("embedding_layer.position_embeddings", "embedding_layer.position_embeddings")}, sdk::copy_tensor());
    r->add({eq("embeddings.token_type_embeddings.weight", "embedding_layer.segment_embeddings.weight")},
           sdk::copy_tensor());
    r->add({eq("embeddings.position_ids", "embeddings.position_ids")}, sdk::drop_tensor());
    r->add({eq("embeddings.LayerNorm.", "embed_ln_f."), re(kWeightOrBias)}, sdk::copy_tensor());
    r->add({eq("embeddings.LayerNorm.gamma", "embed_ln_f.weight")}, sdk::copy_tensor());
    r->add({eq("embeddings.LayerNorm.beta", "embed_ln_f.bias")}, sdk::copy_tensor());
    r->add({eq("encoder.layer.", "transformer_encoder.layers."), re(R"(\d+\.)")}, layer_rules());
    r->add({eq("pooler.dense.", "pooler.pooler.ffn.0.linear_layer."), re(kWeightOrBias)},
           named_copy("bert_pooler_convert"));
    return r;
}

/// BertForPreTraining's MLM and NSP heads.
void add_pretrain_heads(CheckpointRules& r)
{
    r.add({eq("cls.predictions.transform.dense.", "bert_mlm_head.mlm_transform.ffn.ffn.0.linear_layer."),
           re(kWeightOrBias)},
          sdk::copy_tensor());
    r.add({eq("cls.predictions.transform.LayerNorm.", "bert_mlm_head.mlm_transform.ln."), re(kWeightOrBias)},
          sdk::copy_tensor());
    r.add({eq("cls.predictions.transform.LayerNorm.gamma", "bert_mlm_head.mlm_transform.ln.weight")},
          sdk::copy_tensor());
    r.add({eq("cls.predictions.transform.LayerNorm.beta", "bert_mlm_head.mlm_transform.ln.bias")}, sdk::copy_tensor());
    r.add({eq("cls.predictions.decoder.weight", kClassifierWeight)}, sdk::copy_tensor());
    r.add({eq("cls.predictions.decoder.bias", kClassifierBias)}, convert_cls_predictions_bias());
    r.add({eq("cls.predictions.bias", "cls.predictions.bias")}, mlm_bias_alias("cls.predictions.decoder.bias"));
    r.add({eq("cls.seq_relationship.", "bert_cls_head.classifier.ffn.0.linear_layer."), re(kWeightOrBias)},
          sdk::copy_tensor());
}

/// RobertaForMaskedLM's LM head.
void add_roberta_head(CheckpointRules& r)
{
    r.add({eq("lm_head.dense.", "bert_mlm_head.mlm_transform.ffn.ffn.0.linear_layer."), re(kWeightOrBias)},
          sdk::copy_tensor());
    r.add({eq("lm_head.layer_norm.", "bert_mlm_head.mlm_transform.ln."), re(kWeightOrBias)}, sdk::copy_tensor());
    r.add({eq("lm_head.layer_norm.gamma", "bert_mlm_head.mlm_transform.ln.weight")}, sdk::copy_tensor());
    r.add({eq("lm_head.layer_norm.beta", "bert_mlm_head.mlm_transform.ln.bias")}, sdk::copy_tensor());
    r.add({eq("lm_head.decoder.weight", kClassifierWeight)}, sdk::copy_tensor());
    r.add({eq("lm_head.decoder.bias", kClassifierBias)}, convert_cls_predictions_bias());
    r.add({eq("lm_head.bias", "lm_head.bias")}, mlm_bias_alias("lm_head.decoder.bias"));
}

std::shared_ptr<const CheckpointRules> build(Variant variant, CsKeys keys)
{
    auto body = std::make_shared<CheckpointRules>();
    switch (variant) {
    case Variant::pretrain:
        body->add({eq("bert.", "bert_encoder.")}, encoder_rules(keys));
        add_pretrain_heads(*body);
        break;
    case Variant::roberta:
        // RoBERTa's pooler has no CS counterpart: dropped HF -> CS (the CS pooler row below
        // is reachable CS -> HF only).
        body->add({eq("roberta.pooler.dense.", "roberta.pooler.dense."), re(kWeightOrBias)}, sdk::drop_tensor());
        body->add({eq("roberta.", "bert_encoder.")}, encoder_rules(keys));
        add_roberta_head(*body);
        break;
    case Variant::sequence_classifier:
    case Variant::token_classifier:
        body->add({eq("bert.", "bert.")}, encoder_rules(keys));
        body->add({eq("classifier.", "classifier."), re(kWeightOrBias)}, sdk::copy_tensor());
        break;
    case Variant::question_answering:
        body->add({eq("bert.", "bert.")}, encoder_rules(keys));
        body->add({eq("qa_outputs.", "classifier."), re(kWeightOrBias)}, sdk::copy_tensor());
        break;
    }
    auto top = std::make_shared<CheckpointRules>();
    top->add({eq("", "")}, body);
    // Build_HF_CS_Converter_WithOptionalModel: CS keys may carry a legacy `model.` (not cs-1.7).
    if (keys != CsKeys::cs17)
        top->add({eq("", "model.")}, body);
    return top;
}

/// The first of `names` present in the inventory; empty when none is.
std::string first_present(const Plan& plan, std::initializer_list<std::string> names)
{
    for (const auto& n : names)
        if (has_input(plan, n))
            return n;
    return {};
}

} // namespace

std::shared_ptr<const CheckpointRules> hf_cs_rules(Variant variant, CsKeys keys)
{
    return build(variant, keys);
}

std::shared_ptr<const CheckpointRules> finetune_cs16_rules(CsKeys keys)
{
    auto body = std::make_shared<CheckpointRules>();
    body->add({eq("bert.", "bert.")}, encoder_rules(keys));
    body->add({re(".*")}, sdk::copy_tensor());
    auto top = std::make_shared<CheckpointRules>();
    top->add({eq("", "")}, body);
    return top;
}

bool has_input(const Plan& plan, const std::string& name)
{
    for (size_t i = 0, n = plan.input_count(); i < n; ++i)
        if (plan.input_info(i).name == name)
            return true;
    return false;
}

void restore_mlm_decoder(const Request& req, Variant variant, ConstNode hf_config, Plan& plan)
{
    if (variant != Variant::pretrain && variant != Variant::roberta)
        return;
    const bool roberta = variant == Variant::roberta;
    const std::string words =
        roberta ? "roberta.embeddings.word_embeddings.weight" : "bert.embeddings.word_embeddings.weight";
    const std::string decoder_weight = roberta ? "lm_head.decoder.weight" : "cls.predictions.decoder.weight";
    // transformers ties the decoder to the word embeddings and safetensors keeps one of them.
    if (!has_input(plan, decoder_weight) && has_input(plan, words) &&
        config_flag_or(hf_config, "tie_word_embeddings", true)) {
        plan.copy(kClassifierWeight, plan.input(words));
        req.log(CKPT_LOG_INFO, std::string(kClassifierWeight) + " restored from " + words +
                                   " (tie_word_embeddings; the checkpoint omits the tied " + decoder_weight + ")");
    }
    if (!roberta || has_input(plan, "lm_head.decoder.bias") || has_input(plan, "lm_head.bias"))
        return;
    // The Model Zoo creates a missing RoBERTa MLM bias as zeros(vocab_size).
    const int64_t vocab = config_int(hf_config, "vocab_size", "HF");
    ckpt_dtype dtype = CKPT_DTYPE_F32;
    if (has_input(plan, words)) {
        const sdk::TensorDesc w = plan.value_info(plan.input(words));
        if (w.shape.size() != 2 || w.shape[0] != vocab)
            throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + words + "' has shape " + shape_str(w.shape) +
                                                     " but the config says vocab_size = " + std::to_string(vocab));
        dtype = w.dtype;
    } else if (vocab <= 0 || vocab > (int64_t{1} << 31)) {
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "HF config key 'vocab_size': expected a positive vocabulary size, found " +
                                                 std::to_string(vocab));
    }
    plan.generate(kClassifierBias, CKPT_GEN_FILL, dtype, {vocab}, 0.0);
    req.log(CKPT_LOG_INFO, std::string(kClassifierBias) + " created as zeros: the checkpoint has no MLM bias");
}

void add_roberta_token_types(ConstNode hf_config, ConstNode cs_config, Plan& plan)
{
    // Only when CS really has no segment embeddings: a checkpoint that has them keeps them.
    if (config_int_or(cs_config, "num_segments", 0) != 0 ||
        !first_present(plan, {"bert_encoder.embedding_layer.segment_embeddings.weight",
                              "model.bert_encoder.embedding_layer.segment_embeddings.weight"})
             .empty())
        return;
    const std::string name = "roberta.embeddings.token_type_embeddings.weight";
    const int64_t types = config_int(hf_config, "type_vocab_size", "HF");
    const int64_t hidden = config_int(hf_config, "hidden_size", "HF");
    const int64_t kMax = int64_t{1} << 20;
    if (types <= 0 || types > kMax || hidden <= 0 || hidden > kMax)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "cannot create " + name + ": type_vocab_size " + std::to_string(types) +
                                                 " and hidden_size " + std::to_string(hidden) + " must be in 1.." +
                                                 std::to_string(kMax));
    ckpt_dtype dtype = CKPT_DTYPE_F32;
    const std::string words = first_present(plan, {"bert_encoder.embedding_layer.word_embeddings.weight",
                                                   "model.bert_encoder.embedding_layer.word_embeddings.weight"});
    if (!words.empty())
        dtype = plan.value_info(plan.input(words)).dtype;
    plan.generate(name, CKPT_GEN_FILL, dtype, {types, hidden}, 0.0);
}

} // namespace ckpt::bert
