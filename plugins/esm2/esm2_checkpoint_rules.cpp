// SPDX-License-Identifier: Apache-2.0
// ESM-2 checkpoint rules between Hugging Face EsmForMaskedLM and the Cerebras ESM-2 pretraining
// model (docs/mappings-esm2-clip-mixtral.md §1), with the Model Zoo's action names (they show in
// --debug output), the rotary q/k row permutation, and the tensors added or dropped by design.
#include "esm2.hpp"

#include <ckptconv/cpp/transforms.hpp>

#include <string>

namespace ckpt::esm2 {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

namespace {

constexpr int kHf = 0;
constexpr int kCs = 1;

const char* const kWeightOrBias = "(?:weight|bias)";
const char* const kClassifierWeight = "bert_mlm_head.classifier.ffn.0.linear_layer.weight";
const char* const kWordEmbeddings = "esm.embeddings.word_embeddings.weight";

/// convert_with_interleaving_query_key: with rotary positions, HF's rotate-half rows of each
/// head become CS's interleaved rows (and back); otherwise a plain copy.
CheckpointAction interleave_query_key()
{
    return {"convert_with_interleaving_query_key", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ConstNode cs = c.config[kCs];
                const ckpt_value_id id = c.plan.input(o);
                if (config_string_or(cs, "position_embedding_type", "") != "rotary") {
                    c.plan.copy(n, id);
                    return;
                }
                const int64_t heads = config_int(cs, "num_heads", "CS");
                const int64_t rotary_dim = config_int(cs, "rotary_dim", "CS");
                const sdk::TensorDesc t = c.plan.value_info(id);
                if (t.shape.empty() || t.shape.size() > 2 || heads <= 0 || t.shape[0] % heads != 0)
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "' cannot be split into num_heads = " +
                                                             std::to_string(heads) + " heads (its first dimension is " +
                                                             (t.shape.empty() ? "missing" : std::to_string(t.shape[0])) +
                                                             ")");
                const int64_t head_dim = t.shape[0] / heads;
                c.plan.row_permute(n, id,
                                   c.from == kHf ? sdk::rotary_rows_hf_to_cs(heads, head_dim, rotary_dim)
                                                 : sdk::rotary_rows_cs_to_hf(heads, head_dim, rotary_dim));
            }};
}

/// position_embeddings_convert: the absolute position table. HF keeps one even for rotary
/// models, where it is never used and the CS model has no place for it: dropped with a warning.
CheckpointAction position_embeddings()
{
    return {"position_embeddings_convert", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (c.from == kHf && config_string_or(c.config[kHf], "position_embedding_type", "absolute") != "absolute") {
                    c.plan.drop(o);
                    c.req.log(CKPT_LOG_WARNING, o + " dropped: the model uses " +
                                                    config_string_or(c.config[kHf], "position_embedding_type", "") +
                                                    " positions and the CS model has no absolute position table");
                    return;
                }
                c.plan.copy(n, c.plan.input(o));
            }};
}

/// The contact-prediction head: the CS pretraining model has none.
CheckpointAction drop_contact_head()
{
    return {"None", [](CheckpointContext& c, const std::string& o, const std::string&) {
                c.plan.drop(o);
                c.req.log(CKPT_LOG_WARNING, o + " dropped: the CS ESM-2 model has no contact-prediction head");
            }};
}

/// A layer norm under `hf` / `cs`: `.weight`/`.bias`, and the old `.gamma`/`.beta` spelling.
void add_layer_norm(CheckpointRules& r, const std::string& hf, const std::string& cs)
{
    r.add({eq(hf + ".", cs + "."), re(kWeightOrBias)}, sdk::copy_tensor());
    r.add({eq(hf + ".gamma", cs + ".weight")}, sdk::copy_tensor());
    r.add({eq(hf + ".beta", cs + ".bias")}, sdk::copy_tensor());
}

std::shared_ptr<CheckpointRules> layer_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    auto wb = [](const char* hf, const char* cs) { return std::vector<sdk::Segment>{eq(hf, cs), re(kWeightOrBias)}; };
    r->add(wb("attention.self.query.", "self_attn.proj_q_dense_layer."), interleave_query_key());
    r->add(wb("attention.self.key.", "self_attn.proj_k_dense_layer."), interleave_query_key());
    add_layer_norm(*r, "attention.LayerNorm", "norm1");
    // A persistent buffer of HF's rotary module, regenerated CS -> HF.
    r->add({eq("attention.self.rotary_embeddings.inv_freq", "attention.self.rotary_embeddings.inv_freq")},
           sdk::drop_tensor());
    add_layer_norm(*r, "LayerNorm", "norm2");
    r->add(wb("attention.self.value.", "self_attn.proj_v_dense_layer."), sdk::copy_tensor());
    r->add(wb("attention.output.dense.", "self_attn.proj_output_dense_layer."), sdk::copy_tensor());
    r->add(wb("intermediate.dense.", "ffn.ffn.0.linear_layer."), sdk::copy_tensor());
    r->add(wb("output.dense.", "ffn.ffn.1.linear_layer."), sdk::copy_tensor());
    return r;
}

/// The encoder below `esm.` (HF) / `bert_encoder.` (CS).
std::shared_ptr<CheckpointRules> encoder_rules()
{
    auto r = std::make_shared<CheckpointRules>();
    r->add({eq("embeddings.word_embeddings.weight", "embedding_layer.word_embeddings.weight")}, sdk::copy_tensor());
    r->add({eq("embeddings.position_embeddings.weight", "embedding_layer.position_embeddings.embed.weight")},
           position_embeddings());
    // The pre-2.1 CS spelling, reachable CS -> HF only.
    r->add({eq("embeddings.position_embeddings.weight", "embedding_layer.position_embeddings.weight")},
           position_embeddings());
    r->add({eq("embeddings.position_ids", "embeddings.position_ids")}, sdk::drop_tensor());
    add_layer_norm(*r, "embeddings.layer_norm", "embed_ln_f");
    r->add({eq("encoder.layer.", "transformer_encoder.layers."), re(R"(\d+\.)")}, layer_rules());
    add_layer_norm(*r, "encoder.emb_layer_norm_after", "transformer_encoder.norm");
    return r;
}

std::shared_ptr<const CheckpointRules> build()
{
    auto body = std::make_shared<CheckpointRules>();
    body->add({eq("esm.", "bert_encoder.")}, encoder_rules());
    body->add({eq("lm_head.dense.", "bert_mlm_head.mlm_transform.ffn.ffn.0.linear_layer."), re(kWeightOrBias)},
              sdk::copy_tensor());
    add_layer_norm(*body, "lm_head.layer_norm", "bert_mlm_head.mlm_transform.ln");
    body->add({eq("lm_head.decoder.weight", kClassifierWeight)}, sdk::copy_tensor());
    body->add({eq("lm_head.bias", "bert_mlm_head.classifier.ffn.0.linear_layer.bias")}, sdk::copy_tensor());
    body->add({re(R"(esm\.contact_head\.regression\.(?:weight|bias))")}, drop_contact_head());
    // Build_HF_CS_Converter_WithOptionalModel: CS keys may carry a legacy `model.` prefix.
    return sdk::with_model_prefix(body);
}

} // namespace

std::shared_ptr<const CheckpointRules> hf_cs_rules()
{
    static const std::shared_ptr<const CheckpointRules> rules = build();
    return rules;
}

void restore_mlm_decoder(const Request& req, ConstNode hf_config, Plan& plan)
{
    const std::string decoder = "lm_head.decoder.weight";
    const bool tied = sdk::config_flag_or(hf_config, "tie_word_embeddings", true);
    // transformers ties the decoder to the word embeddings and safetensors keeps only one of them.
    const sdk::InputIndex have(plan);
    if (!tied || have.has(decoder) || !have.has(kWordEmbeddings))
        return;
    plan.copy(kClassifierWeight, plan.input(kWordEmbeddings));
    req.log(CKPT_LOG_INFO, std::string(kClassifierWeight) + " restored from " + kWordEmbeddings +
                               " (tie_word_embeddings; the checkpoint omits the tied " + decoder + ")");
}

void add_hf_only_tensors(const Request& req, ConstNode hf_config, Plan& plan)
{
    const int64_t layers = config_int(hf_config, "num_hidden_layers", "HF");
    const int64_t heads = config_int(hf_config, "num_attention_heads", "HF");
    const int64_t hidden = config_int(hf_config, "hidden_size", "HF");
    const int64_t positions = config_int(hf_config, "max_position_embeddings", "HF");
    const int64_t kMax = int64_t{1} << 24;
    for (const auto& [key, v] : {std::pair<const char*, int64_t>{"num_hidden_layers", layers},
                                 {"num_attention_heads", heads},
                                 {"hidden_size", hidden},
                                 {"max_position_embeddings", positions}})
        if (v <= 0 || v > kMax)
            throw sdk::Error(CKPT_ERR_BAD_INPUT, std::string("HF config key '") + key + "' must be in 1.." +
                                                     std::to_string(kMax) + ", found " + std::to_string(v));
    if (hidden % heads != 0)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "HF config: hidden_size " + std::to_string(hidden) +
                                                 " is not a multiple of num_attention_heads " + std::to_string(heads));
    // Weights follow the checkpoint's dtype; HF's rotary buffers are float32 whatever the weights.
    const sdk::InputIndex have(plan);
    ckpt_dtype dtype = CKPT_DTYPE_F32;
    for (const std::string words : {"bert_encoder.embedding_layer.word_embeddings.weight",
                                    "model.bert_encoder.embedding_layer.word_embeddings.weight"})
        if (have.has(words)) {
            dtype = plan.value_info(plan.input(words)).dtype;
            break;
        }
    std::vector<std::string> made;
    if (config_string_or(hf_config, "position_embedding_type", "absolute") == "rotary") {
        for (int64_t i = 0; i < layers; ++i) {
            const std::string name = "esm.encoder.layer." + std::to_string(i) + ".attention.self.rotary_embeddings.inv_freq";
            sdk::inv_freq(plan, name, hidden / heads, 10000.0);
        }
        req.log(CKPT_LOG_INFO, "esm.encoder.layer.*.attention.self.rotary_embeddings.inv_freq generated (base 10000, dim " +
                                   std::to_string(hidden / heads) + "): persistent buffers of EsmForMaskedLM");
        bool has_table = false;
        for (const std::string prefix : {"", "model."})
            for (const std::string table : {"position_embeddings.embed.weight", "position_embeddings.weight"})
                has_table = has_table || have.has(prefix + "bert_encoder.embedding_layer." + table);
        if (!has_table) {
            plan.generate("esm.embeddings.position_embeddings.weight", CKPT_GEN_FILL, dtype, {positions, hidden}, 0.0);
            made.push_back("esm.embeddings.position_embeddings.weight");
        }
    }
    plan.generate("esm.contact_head.regression.weight", CKPT_GEN_FILL, dtype, {1, layers * heads}, 0.0);
    plan.generate("esm.contact_head.regression.bias", CKPT_GEN_FILL, dtype, {1}, 0.0);
    made.push_back("esm.contact_head.regression.weight");
    made.push_back("esm.contact_head.regression.bias");
    for (const auto& name : made)
        req.log(CKPT_LOG_WARNING, name + " written as zeros: the CS model has no such tensor, and EsmForMaskedLM "
                                         "loads only with it present (it does not affect the masked-LM logits)");
}

} // namespace ckpt::esm2
