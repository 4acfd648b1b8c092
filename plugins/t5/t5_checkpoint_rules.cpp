// SPDX-License-Identifier: Apache-2.0
// T5 checkpoint rules (spec/mappings.md §2.5b): the Hugging Face <-> Cerebras table with the
// Model Zoo's action names (they show in --debug output), and the cs-1.6 <-> cs-1.7 table.
#include "t5.hpp"

#include <algorithm>
#include <regex>

namespace ckpt::t5 {

using sdk::CheckpointAction;
using sdk::CheckpointContext;
using sdk::CheckpointRules;
using sdk::eq;
using sdk::re;

namespace {

const char* const kWeightOrBias = R"(\.(?:weight|bias))";
const char* const kStack = "(?:encoder|decoder)";

/// The source tensor `name` as an action should use it: on CS -> HF from a muP checkpoint the
/// fold factor is applied here, per Cerebras key before renaming, as the Model Zoo does.
ckpt_value_id source(CheckpointContext& c, const std::string& name)
{
    ckpt_value_id id = 0;
    try {
        id = c.plan.input(name);
    } catch (const sdk::Error& e) {
        if (e.status() != CKPT_ERR_NOT_FOUND)
            throw;
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "the checkpoint has no tensor '" + name + "', which the t5 conversion needs");
    }
    if (c.from == 1 && c.req.tgt_fmt == "hf" && is_mup(c.config[1])) {
        const double f = mup_factor(c.config[1], name);
        if (f != 1.0)
            return c.plan.scale("", id, f);
    }
    return id;
}

/// "encoder" or "decoder": the first of the two in `key` (after any `model.` prefix).
std::string stack_of(const std::string& key)
{
    static const std::regex rx("(encoder|decoder)");
    std::smatch m;
    if (!std::regex_search(key, m, rx))
        throw sdk::Error(CKPT_ERR_INTERNAL, "t5 rules: '" + key + "' names neither encoder nor decoder");
    return m[1].str();
}

/// "weight" or "bias": the last dotted part of `key`.
std::string leaf_of(const std::string& key) { return key.substr(key.rfind('.') + 1); }

/// The block number of an HF-style `...block.N.` key.
long block_of(const std::string& key)
{
    static const std::regex rx(R"(\.block\.(\d+)\.)");
    std::smatch m;
    if (!std::regex_search(key, m, rx) || m[1].length() > 9)
        throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + key + "': expected a '.block.<N>.' part with a small N");
    return std::stol(m[1].str());
}

std::string hf_relative_bias(const std::string& stack, const std::string& leaf)
{
    return stack + ".block.0.layer.0.SelfAttention.relative_attention_bias." + leaf;
}

/// The Model Zoo's replaceKey, through source() so that muP factors are folded.
CheckpointAction replace_key()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, source(c, o));
            }};
}

/// A key of one side's layout found on the other side: the Model Zoo asserts; we say what to do.
[[noreturn]] void wrong_side(const std::string& key, const char* layout)
{
    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + key + "' is named as in " + layout +
                                             ", which this conversion does not read from this side; check --src-fmt");
}

/// Only HF block 0 carries the relative attention bias; the Cerebras model has one per stack.
/// `cs_name` builds the Cerebras key from (stack, leaf); a `model.` prefix of the new key is kept.
CheckpointAction per_block_bias(const char* name, std::string (*cs_name)(const std::string&, const std::string&))
{
    return {name, [cs_name](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (c.from != 0)
                    wrong_side(o, "Hugging Face or cs-1.6 (a relative attention bias per block)");
                if (block_of(o) != 0) {
                    c.plan.drop(o);
                    return;
                }
                const std::string stack = stack_of(o);
                c.plan.copy(n.substr(0, n.find(stack)) + cs_name(stack, leaf_of(o)), source(c, o));
            }};
}

std::string cs21_bias(const std::string& stack, const std::string& leaf)
{
    return stack + "_embeddings.position_embed_helper.relative_attention_bias." + leaf;
}

std::string cs17_bias(const std::string& stack, const std::string& leaf)
{
    return "relative_position_" + stack + ".relative_attention_bias." + leaf;
}

/// The Cerebras stack-wide bias back to HF block 0 (convert_relative_attention_bias_cs17_to_hf);
/// from the HF side the key is copied as it is.
CheckpointAction shared_bias_to_hf()
{
    return {"convert_relative_attention_bias_cs17_to_hf", [](CheckpointContext& c, const std::string& o, const std::string&) {
                if (c.from != 1)
                    wrong_side(o, "Cerebras checkpoints (one relative attention bias per stack)");
                c.plan.copy(hf_relative_bias(stack_of(o), leaf_of(o)), source(c, o));
            }};
}

/// cs-1.7 -> cs-1.6 (convert_relative_attention_bias_cs17_to_cs16): the one bias goes to every
/// block of its stack. The block count is the number of `<stack>.layers.N` indices present (the
/// Model Zoo counts the encoder's for both stacks), or the config's layer count when none are.
CheckpointAction shared_bias_to_blocks()
{
    return {"convert_relative_attention_bias_cs17_to_cs16", [](CheckpointContext& c, const std::string& o, const std::string&) {
                if (c.from != 1)
                    wrong_side(o, "cs-1.7 (one relative attention bias per stack)");
                const std::string stack = stack_of(o);
                const std::regex layer_rx("(?:model\\.)?" + stack + R"(\.layers\.(\d{1,9})\.)");
                long blocks = 0;
                for (const std::string& name : c.plan.input_names()) {
                    std::smatch m;
                    if (std::regex_search(name, m, layer_rx) && m.position(0) == 0)
                        blocks = std::max(blocks, std::stol(m[1].str()) + 1);
                }
                // Sparse indices cannot make more blocks than the checkpoint has tensors.
                if (blocks > static_cast<long>(c.plan.input_count()))
                    throw sdk::Error(CKPT_ERR_BAD_INPUT, "tensor '" + o + "': the checkpoint names " + stack +
                                                             " layer " + std::to_string(blocks - 1) + " but has only " +
                                                             std::to_string(c.plan.input_count()) +
                                                             " tensors; expected consecutive layer indices");
                if (blocks == 0) {
                    ConstNode count = c.config[1][stack == "encoder" ? "encoder_num_hidden_layers" : "decoder_num_hidden_layers"];
                    if (count.present() && count.kind() == CKPT_NODE_INT && count.as_int() > 0 && count.as_int() < 100000)
                        blocks = static_cast<long>(count.as_int());
                }
                const ckpt_value_id id = source(c, o);
                for (long b = 0; b < blocks; ++b)
                    c.plan.copy(stack + ".block." + std::to_string(b) + ".layer.0.SelfAttention.relative_attention_bias." +
                                    leaf_of(o),
                                id);
            }};
}

} // namespace

/// CS -> HF: the Cerebras embedding HF's tied `shared` module takes its value from, or "" when
/// the checkpoint has none. The Model Zoo writes `shared.weight` from each stack's embedding in
/// turn, so the last one in the checkpoint wins (spec §5 quirk 12).
std::string shared_source(const Plan& plan)
{
    static const std::regex rx(R"((?:model\.)?(?:encoder|decoder)_embeddings\.word_embeddings\.weight)");
    std::string last;
    for (const std::string& name : plan.input_names())
        if (std::regex_match(name, rx))
            last = name;
    return last;
}

namespace {

/// True when CS -> HF writes `lm_head.weight` with the tied embeddings (write_tied_embeddings).
bool lm_head_is_tied(const CheckpointContext& c, const std::string& cs_key)
{
    return c.from == 1 && leaf_of(cs_key) == "weight" && flag_or(c.config[0], "tie_word_embeddings", true) &&
           !shared_source(c.plan).empty();
}

/// HF -> CS copies. CS -> HF the HF name was written by write_tied_embeddings: transformers'
/// T5 always ties both stacks' embed_tokens to `shared`, so that is the value the HF model uses,
/// and one value lets safetensors output keep only `shared.weight`, as save_pretrained does.
CheckpointAction convert_embeddings()
{
    return {"convert_embeddings", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (c.from == 0)
                    c.plan.copy(n, source(c, o));
                else
                    c.plan.input(o);
            }};
}

/// lm_head copies, except CS -> HF with tied embeddings (see write_tied_embeddings).
CheckpointAction convert_lm_head()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                if (lm_head_is_tied(c, o))
                    c.plan.input(o);
                else
                    c.plan.copy(n, source(c, o));
            }};
}

/// HF -> CS copies. CS -> HF picks the HF sub-layer: 2 when the CS layer has cross attention
/// (a decoder block), else 1; and `wi_1` for the up projection of a gated feed-forward.
CheckpointAction convert_dense_layer()
{
    return {"convert_dense_layer", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = source(c, o);
                if (c.from == 0) {
                    c.plan.copy(n, id);
                    return;
                }
                static const std::regex prefix_rx(R"(^(.*\.layers\.\d+)\.)");
                std::smatch pm;
                if (!std::regex_search(o, pm, prefix_rx))
                    throw sdk::Error(CKPT_ERR_INTERNAL, "t5 rules: '" + o + "' has no '.layers.<N>.' part");
                const bool cross = has_input(c.plan, pm[1].str() + ".multihead_attn.proj_q_dense_layer.weight");
                std::string key = std::regex_replace(n, std::regex(R"(\.layer\.[12]\.DenseReluDense\.)"),
                                                     cross ? ".layer.2.DenseReluDense." : ".layer.1.DenseReluDense.");
                if (is_gated(c.config[0], c.config[1]))
                    key = std::regex_replace(key, std::regex(R"(\.DenseReluDense\.wi\.)"), ".DenseReluDense.wi_1.");
                c.plan.copy(key, id);
            }};
}

/// `{encoder|decoder}.block.N.` <-> `{encoder|decoder}.layers.N.` + `hf` <-> `cs` + weight|bias.
std::vector<sdk::Segment> layer(const char* stack, const char* hf, const char* cs)
{
    return {re(stack), eq(".block.", ".layers."), re(R"(\d+)"), eq(hf, cs), re(kWeightOrBias)};
}

/// Rows 10-20 and 23-31 of the table: the per-layer names shared by every T5 converter.
void add_layer_rules(CheckpointRules& r, const CheckpointAction& lm_head)
{
    const CheckpointAction copy = replace_key();
    r.add(layer(kStack, ".layer.0.SelfAttention.q", ".self_attn.proj_q_dense_layer"), copy);
    r.add(layer(kStack, ".layer.0.SelfAttention.k", ".self_attn.proj_k_dense_layer"), copy);
    r.add(layer(kStack, ".layer.0.SelfAttention.v", ".self_attn.proj_v_dense_layer"), copy);
    r.add(layer(kStack, ".layer.0.SelfAttention.o", ".self_attn.proj_output_dense_layer"), copy);
    r.add(layer(kStack, ".layer.0.layer_norm", ".norm1"), copy);
    r.add(layer(kStack, ".layer.1.layer_norm", ".norm2"), copy);
    r.add(layer(kStack, ".layer.2.layer_norm", ".norm3"), copy);
    r.add(layer("decoder", ".layer.1.EncDecAttention.q", ".multihead_attn.proj_q_dense_layer"), copy);
    r.add(layer("decoder", ".layer.1.EncDecAttention.k", ".multihead_attn.proj_k_dense_layer"), copy);
    r.add(layer("decoder", ".layer.1.EncDecAttention.v", ".multihead_attn.proj_v_dense_layer"), copy);
    r.add(layer("decoder", ".layer.1.EncDecAttention.o", ".multihead_attn.proj_output_dense_layer"), copy);
    // Rows 21-22 (the cs-1.6 bias rules inherited by the HF class) are shadowed by rows 1 and 5.
    const CheckpointAction dense = convert_dense_layer();
    r.add(layer(kStack, ".layer.1.DenseReluDense.wi", ".ffn.ffn.0.linear_layer"), dense);
    r.add(layer(kStack, ".layer.1.DenseReluDense.wi_0", ".ffn.ffn.0.linear_layer_for_glu"), dense);
    r.add(layer(kStack, ".layer.1.DenseReluDense.wi_1", ".ffn.ffn.0.linear_layer"), dense);
    r.add(layer(kStack, ".layer.1.DenseReluDense.wo", ".ffn.ffn.1.linear_layer"), dense);
    r.add(layer(kStack, ".layer.2.DenseReluDense.wi", ".ffn.ffn.0.linear_layer"), copy);
    r.add(layer(kStack, ".layer.2.DenseReluDense.wi_0", ".ffn.ffn.0.linear_layer_for_glu"), dense);
    r.add(layer(kStack, ".layer.2.DenseReluDense.wi_1", ".ffn.ffn.0.linear_layer"), dense);
    r.add(layer(kStack, ".layer.2.DenseReluDense.wo", ".ffn.ffn.1.linear_layer"), copy);
    r.add({re(kStack), eq(".final_layer_norm", ".norm"), re(kWeightOrBias)}, copy);
    r.add({re(R"(lm_head\.(?:weight|bias))")}, lm_head);
}

std::shared_ptr<CheckpointRules> with_optional_model(std::shared_ptr<const CheckpointRules> body)
{
    // Build_HF_CS_Converter_WithOptionalModel: CS keys may carry a legacy `model.` prefix.
    auto top = std::make_shared<CheckpointRules>();
    top->add({eq("", "")}, body);
    top->add({eq("", "model.")}, body);
    return top;
}

std::shared_ptr<const CheckpointRules> build_hf_cs()
{
    auto r = std::make_shared<CheckpointRules>();
    const std::string bias = R"(\.relative_attention_bias\.(?:weight|bias))";
    r->add({re(std::string(kStack) + R"(\.block\.\d+\.layer\.0\.SelfAttention)" + bias)},
           per_block_bias("convert_relative_attention_bias_hf_to_cs21", &cs21_bias));
    r->add({re(std::string(kStack) + "_embeddings.position_embed_helper" + bias)}, shared_bias_to_hf());
    r->add({re(kStack), eq(".embed_tokens", "_embeddings.word_embeddings"), re(R"(\.weight)")}, convert_embeddings());
    r->add({re(R"(shared\.weight)")}, sdk::drop_tensor());
    r->add({re(std::string("relative_position_") + kStack + bias)}, shared_bias_to_hf());
    r->add({re(R"(decoder\.block\.\d+\.layer\.1\.EncDecAttention)" + bias)}, sdk::drop_tensor());
    // Rows 7-8: legacy cs-1.6 embedding names (HF -> CS only / CS -> HF only in practice).
    r->add({re(kStack), eq("_token_embedding", "_embeddings.word_embeddings"), re(R"(\.weight)")}, replace_key());
    r->add({re(std::string(kStack) + R"(\.embed_tokens\.weight)")}, sdk::drop_tensor());
    r->add({re(kStack), eq(".absolute_position_embedding", "_embeddings.position_embeddings"), re(R"((?:\.weight)?)")},
           replace_key());
    add_layer_rules(*r, convert_lm_head());
    return with_optional_model(r);
}

std::shared_ptr<const CheckpointRules> build_cs16(bool optional_model)
{
    auto r = std::make_shared<CheckpointRules>();
    const std::string bias = R"(\.relative_attention_bias\.(?:weight|bias))";
    r->add({re(kStack), eq("_token_embedding", "_embeddings.word_embeddings"), re(R"(\.weight)")}, replace_key());
    r->add({re(kStack), eq(".absolute_position_embedding", "_embeddings.position_embeddings"), re(R"((?:\.weight)?)")},
           replace_key());
    r->add({re(std::string(kStack) + R"(\.block\.\d+\.layer\.0\.SelfAttention)" + bias)},
           per_block_bias("convert_relative_attention_bias_cs16_to_cs17", &cs17_bias));
    r->add({re(std::string("relative_position_") + kStack + bias)}, shared_bias_to_blocks());
    add_layer_rules(*r, replace_key());
    if (optional_model)
        return with_optional_model(r);
    return r;
}

} // namespace

void write_tied_embeddings(CheckpointContext& ctx)
{
    const std::string shared = shared_source(ctx.plan);
    if (ctx.from != 1 || shared.empty())
        return;
    const std::string prefix = shared.rfind("model.", 0) == 0 ? "model." : "";
    const ckpt_value_id value = source(ctx, shared);
    ctx.plan.copy("shared.weight", value);
    for (const char* stack : {"encoder", "decoder"})
        if (has_input(ctx.plan, prefix + stack + "_embeddings.word_embeddings.weight"))
            ctx.plan.copy(std::string(stack) + ".embed_tokens.weight", value);
    if (has_input(ctx.plan, prefix + "lm_head.weight") && lm_head_is_tied(ctx, prefix + "lm_head.weight"))
        ctx.plan.copy("lm_head.weight", value);
}

std::shared_ptr<const CheckpointRules> hf_cs_rules()
{
    static const auto rules = build_hf_cs();
    return rules;
}

std::shared_ptr<const CheckpointRules> cs16_rules(bool optional_model)
{
    static const auto plain = build_cs16(false);
    static const auto prefixed = build_cs16(true);
    return optional_model ? prefixed : plain;
}

} // namespace ckpt::t5
