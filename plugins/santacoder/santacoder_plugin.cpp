// SPDX-License-Identifier: Apache-2.0
// SantaCoder (`santacoder`, `santacoder-headless`) as a decoder table (spec/mappings.md §2.13):
// bigcode's remote-code GPT2LMHeadCustomModel (GPT-2 Conv1D names with a separate `q_attn` and a
// fused multi-query `kv_attn`) <-> CS GPT2LMHeadModel configured as SantaCoder. The remote code
// keeps GPT-2's `attn.bias` / `attn.masked_bias` buffers in its state dict, so CS -> HF writes
// them again, as the Model Zoo does.
#include <ckptconv/cpp/gpt2_style.hpp>
#include <ckptconv/cpp/plugin.hpp>

namespace {

using namespace ckpt::sdk;

constexpr int kHf = kHfSide;
constexpr int kCs = kCsSide;

/// `key` with its last `from` replaced by `to` (`from` is there: the rule matched it).
std::string swap(std::string key, const std::string& from, const std::string& to)
{
    return key.replace(key.rfind(from), from.size(), to);
}

/// HF -> CS: Conv1D `kv_attn` (weight `[d, 2 * head_dim]`, bias `[2 * head_dim]`) is transposed
/// and halved into CS k and v. CS -> HF (on the k key): k and v joined and transposed back; the
/// bias also brings the layer's `attn.bias` (causal mask over max_position_embeddings) and
/// `attn.masked_bias` (-1e4) buffers.
CheckpointAction kv_attn()
{
    return {"kv_attn_converter", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const bool bias = n.size() >= 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
                if (c.from == kHf) {
                    ckpt_value_id kv = c.plan.input(o);
                    const TensorDesc info = c.plan.value_info(kv);
                    if (info.shape.size() != (bias ? 1u : 2u) || info.shape.back() % 2 != 0)
                        throw Error(CKPT_ERR_BAD_INPUT, "tensor " + o + ": expected a fused k|v " +
                                                            (bias ? "[2 * head_dim]" : "[d, 2 * head_dim]") +
                                                            " with an even last dimension");
                    if (!bias)
                        kv = c.plan.transpose("", kv);
                    c.plan.split(n, kv, 0, 0, 2);
                    c.plan.split(swap(n, "proj_k_dense_layer", "proj_v_dense_layer"), kv, 0, 1, 2);
                    return;
                }
                const std::string v = swap(o, "proj_k_dense_layer", "proj_v_dense_layer");
                const ckpt_value_id joined = c.plan.concat(bias ? n : "", {load_scaled(c, o), load_scaled(c, v)}, 0);
                if (!bias) {
                    c.plan.transpose(n, joined);
                    return;
                }
                causal_mask(c.plan, swap(n, ".kv_attn.", "."),
                            config_int(c.config[kCs], "max_position_embeddings", "CS"));
                constant(c.plan, swap(n, ".kv_attn.", ".masked_"), CKPT_DTYPE_F32, -1e4);
            }};
}

/// CS proj_v: consumed with its k sibling by kv_attn, which must be there.
CheckpointAction kv_sibling()
{
    return {"assert_already_converted", [](CheckpointContext& c, const std::string& o, const std::string&) {
                c.plan.input(swap(o, "proj_v_dense_layer", "proj_k_dense_layer")); // throws, naming k, when missing
            }};
}

/// The CS post-default `fp16_type: bfloat16` of Releases 2.1 ... 2.4 (removed in 2.5.0).
void post_convert(ConfigContext& c)
{
    const auto release = cs_version(c.req.tgt_fmt);
    if (c.from == kHf && release && *release <= std::make_pair(2, 4) && !c.dst.has("fp16_type"))
        c.dst.entry("fp16_type").set("bfloat16");
}

/// ConfigConverter_SantacoderModel_HF_CS21: GPT-2's table (ConfigConverter_GPT2Model_HF_CS20)
/// after four rows of its own.
std::shared_ptr<DecoderConfig> santacoder_config()
{
    auto t = std::make_shared<DecoderConfig>();
    t->rules.add({eq("scale_attn_by_inverse_layer_idx", "scale_qk_dot_by_layer_idx")}, rename_key())
        .add({key("attention_head_type")}, assert_value(kHf, {"multiquery"}))
        .add({key("attention_module")}, assert_value(kCs, {"multiquery_attention"}))
        .add({key("extra_attention_params")}, assert_value(kCs, {Value::map({{"num_kv_groups", 1}})}));
    add_gpt2_config_rows(t->rules, "gpt2", convert_attention_type(), true);
    t->pre_defaults[kHf] = {{"tie_word_embeddings", true}};
    t->pre_defaults[kCs] = {{"share_embedding_weights", true}};
    const Value auto_map = Value::map({{"AutoConfig", "configuration_gpt2_mq.GPT2CustomConfig"},
                                       {"AutoModelForCausalLM", "modeling_gpt2_mq.GPT2LMHeadCustomModel"}});
    // The Model Zoo writes `scale_attn_weight: true` here, a misspelling of GPT-2's
    // `scale_attn_weights` default (docs/decisions.md): the intended key is written.
    t->post_defaults[kHf] = {{"model_type", "gpt2"},
                             {"architectures", Value::list({Value("GPT2LMHeadCustomModel")})},
                             {"attention_head_type", "multiquery"},
                             {"scale_attn_by_inverse_layer_idx", false},
                             {"scale_attn_weights", true},
                             {"auto_map", auto_map},
                             {"reorder_and_upcast_attn", false},
                             {"summary_activation", nullptr},
                             {"summary_first_dropout", 0.1},
                             {"summary_proj_to_labels", true},
                             {"summary_type", "cls_index"},
                             {"summary_use_proj", true},
                             {"torch_dtype", "float32"},
                             {"transformers_version", "4.24.0"},
                             {"use_cache", true}};
    t->post_defaults[kCs] = {{"use_bias_in_output", false},
                             {"position_embedding_type", "learned"},
                             {"attention_module", "multiquery_attention"},
                             {"softmax_dtype_fp32", false},
                             {"scale_by_layer_index", false},
                             {"extra_attention_params", Value::map({{"num_kv_groups", 1}})},
                             {"use_projection_bias_in_attention", true},
                             {"use_ffn_bias_in_attention", true},
                             {"use_ffn_bias", true},
                             {"loss_scaling", "num_tokens"}};
    t->gates = {registry_name_gate()};
    t->pre = gpt2_config_pre;
    t->post = post_convert;
    return t;
}

/// The HF tensor shapes (Conv1D, `[in, out]`): `q_attn` all query heads, `kv_attn` one k and one
/// v head.
void santacoder_shapes(ModelShapes& s, ConstNode)
{
    const Gpt2BaseShapes g = add_gpt2_base_shapes(s, true);
    s.expect_layers(g.layer + R"(attn\.q_attn\.weight)", g.layers, {g.hidden, g.hidden});
    s.expect_layers(g.layer + R"(attn\.q_attn\.bias)", g.layers, {g.hidden});
    s.expect_layers(g.layer + R"(attn\.kv_attn\.weight)", g.layers, {g.hidden, 2 * g.head_dim()});
    s.expect_layers(g.layer + R"(attn\.kv_attn\.bias)", g.layers, {2 * g.head_dim()});
}

DecoderFamily santacoder()
{
    DecoderFamily f;
    f.hf_class = "GPT2LMHeadCustomModel";
    f.hf_headless_class = "GPT2CustomModel";
    f.cs_class = "GPT2LMHeadModel (configured as SantaCoder)";
    f.registry_name = "santacoder";
    f.hf_base_prefix = "transformer.";
    f.hf_embedding = "wte.weight";
    f.head_rows = {{"lm_head", "lm_head", copy_scaled()}};
    f.base_rules = [](CheckpointRules& r) {
        add_gpt2_base_rows(r, transpose_if_2d(),
                           {{"attn.q_attn", "self_attn.proj_q_dense_layer", transpose_if_2d()},
                            {"attn.kv_attn", "self_attn.proj_k_dense_layer", kv_attn()},
                            {"attn.kv_attn", "self_attn.proj_v_dense_layer", kv_sibling()}});
    };
    f.config = santacoder_config;
    f.shapes = santacoder_shapes;
    return f;
}

} // namespace

CKPT_PLUGIN_DEFINE(def)
{
    def.info("santacoder", "1.0", "SantaCoder (bigcode remote code <-> Cerebras Model Zoo), on the SDK decoder helper");
    const DecoderFamily fam = santacoder();
    const auto formats = cs_formats({2, 1});
    def.model("santacoder").add(std::make_shared<DecoderHfCs>(fam, false, formats, true));
    def.model("santacoder-headless")
        .registry_name("santacoder")
        .add(std::make_shared<DecoderHfCs>(fam, true, formats, true));
}
