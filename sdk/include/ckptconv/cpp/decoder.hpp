// SPDX-License-Identifier: Apache-2.0
// Decoder (GPT-style) families as tables: a family states its key rows, QKV layout, rotary
// style, head and config table, and this header supplies the HF <-> CS converter, the headless
// form, muP folding, the generic config post-processing and the GPT-style CS release steps.
//
// How a family uses it (plugins/gptj is the short complete example):
//
//   sdk::DecoderFamily fam;
//   fam.hf_class = "GPTJForCausalLM";  fam.hf_headless_class = "GPTJModel";
//   fam.cs_class = "GPTJModel(with head)";  fam.registry_name = "gptj";
//   fam.hf_base_prefix = "transformer.";   fam.hf_embedding = "wte.weight";
//   fam.head_rows = {{"lm_head", "lm_head", sdk::copy_scaled()}};
//   fam.base_rules = [](sdk::CheckpointRules& r) {
//       sdk::add_rows(r, {{"wte", "embedding_layer.word_embeddings", sdk::copy_scaled()},
//                         {"ln_f", "transformer_decoder.norm", sdk::final_norm()}});
//       sdk::add_layer_rows(r, "h", {{"attn.q_proj", "self_attn.proj_q_dense_layer", sdk::copy_scaled()}, ...});
//   };
//   fam.config = [] { return std::make_shared<MyConfigTable>(); };   // a TableConfigConverter
//   def.model("gptj").add(std::make_shared<sdk::DecoderHfCs>(fam, /*headless=*/false,
//                                                          sdk::cs_formats({2, 3}), /*mup=*/true));
//
// Fused QKV tensors are described by FusedQkv (per-head, grouped-query, multi-query, blocked)
// and converted by fused_qkv_action; the rotary style (none, or HF rotate-half <-> CS
// interleaved with a partial rotary_dim) is a Rotary read from the CS config.
#pragma once

#include <ckptconv/cpp/family.hpp>
#include <ckptconv/cpp/model_shapes.hpp>
#include <ckptconv/cpp/mup.hpp>
#include <ckptconv/cpp/release_steps.hpp>
#include <ckptconv/cpp/rules.hpp>
#include <ckptconv/cpp/transforms.hpp>
#include <ckptconv/cpp/value.hpp>

#include <array>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace ckpt::sdk {

// ---- key tables --------------------------------------------------------------------------------

/// One row of a family's key table: the HF and CS spellings of a module (without the
/// `.weight`/`.bias` suffix, which every row accepts) and what happens to its tensors.
struct KeyRow {
    std::string hf;
    std::string cs;
    CheckpointAction action;
};

/// The `.weight` / `.bias` suffix every decoder row accepts.
inline Segment weight_or_bias() { return re(R"(\.(?:weight|bias))"); }

/// Adds `hf{.weight|.bias}` <-> `cs{.weight|.bias}` rows, in order (first match wins).
inline void add_rows(CheckpointRules& rules, const std::vector<KeyRow>& rows)
{
    for (const KeyRow& row : rows)
        rules.add({eq(row.hf, row.cs), weight_or_bias()}, row.action);
}

/// Adds per-layer rows `<hf_layers>.{i}.<hf>` <-> `transformer_decoder.layers.{i}.<cs>`.
inline void add_layer_rows(CheckpointRules& rules, const std::string& hf_layers, const std::vector<KeyRow>& rows)
{
    for (const KeyRow& row : rows)
        rules.add({eq(hf_layers, "transformer_decoder.layers"), re(R"(\.\d+\.)"), eq(row.hf, row.cs), weight_or_bias()},
                  row.action);
}

/// The source tensor `key`, multiplied by its muP folding factor when it comes from a muP CS
/// checkpoint (1.0 otherwise; a family without muP support refused such a config already).
inline ckpt_value_id load_scaled(CheckpointContext& ctx, const std::string& key)
{
    const ckpt_value_id id = ctx.plan.input(key);
    if (ctx.from != kCsSide || !ctx.fold_mup)
        return id;
    const double f = mup_factor(ctx.config[kCsSide], key);
    return f == 1.0 ? id : ctx.plan.scale("", id, f);
}

/// Copies the tensor under its new name, muP-folded on the way to HF (the Model Zoo's replaceKey).
inline CheckpointAction copy_scaled()
{
    return {"replaceKey", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                c.plan.copy(n, load_scaled(c, o));
            }};
}

/// The final norm: CS keeps it twice (a cs-1.7 legacy), as transformer_decoder.norm.* and ln_f.*.
inline CheckpointAction final_norm()
{
    return {"replace_final_norm", [](CheckpointContext& c, const std::string& o, const std::string& n) {
                const ckpt_value_id id = load_scaled(c, o);
                c.plan.copy(n, id);
                const std::string from = "transformer_decoder.norm.";
                const size_t at = n.find(from);
                if (c.from == kHfSide && at != std::string::npos)
                    c.plan.copy(n.substr(0, at) + "ln_f." + n.substr(at + from.size()), id);
            }};
}

/// A CS-only tensor the HF model has no place for (the Model Zoo's assert_factory_fn on a
/// checkpoint key): converting it to HF is refused with a ConfigConversionError naming it.
inline CheckpointAction refuse_cs_tensor(std::string why)
{
    return {"assert_factory_wrapper", [why](CheckpointContext& c, const std::string& o, const std::string&) {
                if (c.from == kCsSide)
                    throw ConfigConversionError("Can't convert checkpoint with " + o + ": " + why);
                throw ConfigConversionError(o + " should not appear in the checkpoint");
            }};
}

// ---- fused QKV layouts -------------------------------------------------------------------------

/// How a fused HF query/key/value projection lays out its rows: `groups` repetitions of a group
/// made of runs of `chunk_rows`-row chunks, each run belonging to q, k or v. CS keeps q, k and v
/// as three tensors, each the concatenation of its chunks in group order.
struct FusedQkv {
    enum Part { q = 0, k = 1, v = 2 };
    struct Run {
        Part part;
        int64_t chunks;
    };
    int64_t groups = 0;
    std::vector<Run> group;
    int64_t chunk_rows = 0;

    /// GPT-NeoX / BLOOM: per head [q, k, v], `[heads, 3, head_dim]`.
    static FusedQkv per_head(int64_t heads, int64_t head_dim) { return {heads, {{q, 1}, {k, 1}, {v, 1}}, head_dim}; }
    /// Falcon's new decoder architecture: per kv group, heads/groups q heads then one k and one v
    /// (`[groups, heads/groups + 2, head_dim]`); groups = 1 is multi-query attention.
    static FusedQkv grouped(int64_t heads, int64_t kv_groups, int64_t head_dim)
    {
        if (kv_groups <= 0 || heads % kv_groups != 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "number of attention heads (" + std::to_string(heads) +
                                                       ") is not divisible by the number of key/value groups (" +
                                                       std::to_string(kv_groups) + ")");
        return {kv_groups, {{q, heads / kv_groups}, {k, 1}, {v, 1}}, head_dim};
    }
    /// One matrix concatenated q | k | v (`rows` each).
    static FusedQkv concatenated(int64_t rows) { return {1, {{q, 1}, {k, 1}, {v, 1}}, rows}; }
    /// `blocks` equal blocks each holding one chunk per part in `order` (CodeGen: mp_num blocks
    /// of q, v, k).
    static FusedQkv blocked(int64_t blocks, std::array<Part, 3> order, int64_t rows_per_part)
    {
        if (blocks <= 0 || rows_per_part % blocks != 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "a projection of " + std::to_string(rows_per_part) +
                                                       " rows does not split into " + std::to_string(blocks) +
                                                       " blocks");
        return {blocks, {{order[0], 1}, {order[1], 1}, {order[2], 1}}, rows_per_part / blocks};
    }

    int64_t part_rows(Part p) const
    {
        int64_t n = 0;
        for (const Run& r : group)
            n += r.part == p ? r.chunks * chunk_rows : 0;
        return n * groups;
    }
    int64_t total_rows() const { return part_rows(q) + part_rows(k) + part_rows(v); }
};

/// Rotary layout change applied to q and k: HF rotates halves, CS interleaves pairs, over the
/// first `rotary_dim` rows of every `head_dim`-row head. rotary_dim 0 (or `none()`) changes nothing
/// (GPT-J and CodeGen store the interleaved layout already).
struct Rotary {
    int64_t head_dim = 0;
    int64_t rotary_dim = 0;
    static Rotary none() { return {}; }
    bool active() const { return head_dim > 0 && rotary_dim > 0; }
};

/// ROW_PERMUTE order taking the fused HF rows to CS `[q | k | v]` with `rotary` applied to q and
/// k: output row i = fused row order[i]. `tensor` names the source in errors.
inline std::vector<int64_t> fused_to_cs_rows(const std::string& tensor, const FusedQkv& layout, const Rotary& rotary)
{
    const int64_t total = layout.total_rows();
    if (layout.groups <= 0 || layout.chunk_rows <= 0 || total <= 0)
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + tensor + ": invalid fused QKV layout");
    int64_t group_rows = 0;
    for (const auto& run : layout.group)
        group_rows += run.chunks * layout.chunk_rows;
    const int64_t base[3] = {0, layout.part_rows(FusedQkv::q), layout.part_rows(FusedQkv::q) + layout.part_rows(FusedQkv::k)};
    std::vector<int64_t> plain(static_cast<size_t>(total));
    int64_t next[3] = {0, 0, 0}; // rows of each part placed so far
    for (int64_t g = 0; g < layout.groups; ++g) {
        int64_t fused = g * group_rows;
        for (const auto& run : layout.group)
            for (int64_t r = 0; r < run.chunks * layout.chunk_rows; ++r)
                plain[static_cast<size_t>(base[run.part] + next[run.part]++)] = fused++;
    }
    if (!rotary.active())
        return plain;
    std::vector<int64_t> order = plain;
    for (const FusedQkv::Part p : {FusedQkv::q, FusedQkv::k}) {
        const int64_t rows = layout.part_rows(p);
        if (rows % rotary.head_dim != 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + tensor + ": " + std::to_string(rows) +
                                                       " rows do not split into heads of " +
                                                       std::to_string(rotary.head_dim));
        if (rotary.rotary_dim > rotary.head_dim || rotary.rotary_dim % 2 != 0)
            throw Error(CKPT_ERR_INVALID_ARGUMENT, "tensor " + tensor + ": rotary_dim " +
                                                       std::to_string(rotary.rotary_dim) +
                                                       " must be even and at most the head size " +
                                                       std::to_string(rotary.head_dim));
        const auto rot = rotary_rows_hf_to_cs(rows / rotary.head_dim, rotary.head_dim, rotary.rotary_dim);
        for (int64_t i = 0; i < rows; ++i)
            order[static_cast<size_t>(base[p] + i)] = plain[static_cast<size_t>(base[p] + rot[static_cast<size_t>(i)])];
    }
    return order;
}

/// The inverse of a ROW_PERMUTE order.
inline std::vector<int64_t> inverse_rows(const std::vector<int64_t>& order)
{
    std::vector<int64_t> inv(order.size());
    for (size_t i = 0; i < order.size(); ++i)
        inv[static_cast<size_t>(order[i])] = static_cast<int64_t>(i);
    return inv;
}

/// Splits fused HF `fused` (weight `[rows, in]` or bias `[rows]`) into CS q, k, v outputs.
inline void split_fused_qkv(Plan& plan, const std::string& tensor, ckpt_value_id fused, const FusedQkv& layout,
                            const Rotary& rotary, const std::array<std::string, 3>& outputs)
{
    const TensorDesc info = plan.value_info(fused);
    if (info.shape.empty() || info.shape[0] != layout.total_rows())
        throw Error(CKPT_ERR_BAD_INPUT, "tensor " + tensor + ": expected " + std::to_string(layout.total_rows()) +
                                            " rows (q, k and v as the config describes them), found " +
                                            (info.shape.empty() ? std::string("a scalar") : std::to_string(info.shape[0])));
    const ckpt_value_id stacked = plan.row_permute("", fused, fused_to_cs_rows(tensor, layout, rotary));
    // The parts may differ in size (grouped query): split into equal units and regroup.
    const int64_t sizes[3] = {layout.part_rows(FusedQkv::q), layout.part_rows(FusedQkv::k), layout.part_rows(FusedQkv::v)};
    const int64_t unit = std::gcd(std::gcd(sizes[0], sizes[1]), sizes[2]);
    const int64_t units = layout.total_rows() / unit;
    int64_t at = 0;
    for (int p = 0; p < 3; ++p) {
        const int64_t n = sizes[p] / unit;
        if (n == 1) {
            plan.split(outputs[static_cast<size_t>(p)], stacked, 0, at, units);
        } else {
            std::vector<ckpt_value_id> pieces;
            for (int64_t i = 0; i < n; ++i)
                pieces.push_back(plan.split("", stacked, 0, at + i, units));
            plan.concat(outputs[static_cast<size_t>(p)], pieces, 0);
        }
        at += n;
    }
}

/// Joins CS q, k, v into the fused HF tensor `output` (the inverse of split_fused_qkv).
inline void join_fused_qkv(Plan& plan, const std::string& output, const std::array<ckpt_value_id, 3>& parts,
                           const FusedQkv& layout, const Rotary& rotary)
{
    const ckpt_value_id stacked = plan.concat("", {parts[0], parts[1], parts[2]}, 0);
    const TensorDesc info = plan.value_info(stacked);
    if (info.shape.empty() || info.shape[0] != layout.total_rows())
        throw Error(CKPT_ERR_BAD_INPUT, "the q, k and v tensors of " + output + " have " +
                                            (info.shape.empty() ? std::string("no") : std::to_string(info.shape[0])) +
                                            " rows together, the config describes " +
                                            std::to_string(layout.total_rows()));
    plan.row_permute(output, stacked, inverse_rows(fused_to_cs_rows(output, layout, rotary)));
}

/// What a fused-QKV family reads from the CS config to describe one layer's projection.
using FusedQkvFn = std::function<std::pair<FusedQkv, Rotary>(const ConstNode& hf, const ConstNode& cs)>;

/// The Model Zoo's qkv_converter: on HF -> CS the fused key becomes CS proj_q/k/v_dense_layer;
/// on CS -> HF the proj_q key (its k and v siblings read alongside) becomes the fused key.
inline CheckpointAction fused_qkv_action(FusedQkvFn describe)
{
    return {"qkv_converter", [describe](CheckpointContext& c, const std::string& o, const std::string& n) {
                const auto [layout, rotary] = describe(c.config[kHfSide], c.config[kCsSide]);
                const std::string q = "proj_q_dense_layer";
                if (c.from == kHfSide) {
                    const size_t at = n.rfind(q);
                    std::array<std::string, 3> out{n, n, n};
                    out[1].replace(at, q.size(), "proj_k_dense_layer");
                    out[2].replace(at, q.size(), "proj_v_dense_layer");
                    split_fused_qkv(c.plan, o, c.plan.input(o), layout, rotary, out);
                    return;
                }
                const size_t at = o.rfind(q);
                std::string k = o, v = o;
                k.replace(at, q.size(), "proj_k_dense_layer");
                v.replace(at, q.size(), "proj_v_dense_layer");
                join_fused_qkv(c.plan, n, {load_scaled(c, o), load_scaled(c, k), load_scaled(c, v)}, layout, rotary);
            }};
}

/// CS proj_k / proj_v keys: consumed by the proj_q action (the Model Zoo's
/// assert_already_converted); refers to the proj_q sibling so that a lone k or v is an error.
inline CheckpointAction qkv_sibling()
{
    return {"assert_already_converted", [](CheckpointContext& c, const std::string& o, const std::string&) {
                for (const char* part : {"proj_k_dense_layer", "proj_v_dense_layer"}) {
                    const size_t at = o.rfind(part);
                    if (at == std::string::npos)
                        continue;
                    std::string q = o;
                    q.replace(at, std::string(part).size(), "proj_q_dense_layer");
                    c.plan.input(q); // throws, naming q, when the checkpoint lacks it
                }
            }};
}

// ---- configs -----------------------------------------------------------------------------------

/// A TableConfigConverter whose family fixes are functions, so a family is a table plus lambdas.
class DecoderConfig : public TableConfigConverter {
public:
    std::function<void(ConfigContext&, Node work)> pre;
    std::function<void(ConfigContext&)> post;

protected:
    void pre_convert(ConfigContext& ctx, Node work) const override
    {
        if (pre)
            pre(ctx, work);
    }
    void post_convert(ConfigContext& ctx) const override
    {
        if (post)
            post(ctx);
    }
};

/// A config key spelled the same on both sides.
inline Segment key(const std::string& k) { return eq(k, k); }

/// The defaults every Model Zoo config converter of a CS GPTJModel (GPT-J, CodeGen, GPT-NeoX)
/// inserts into a CS config before converting it to HF. Some contradict those converters' own
/// assertions (`use_ffn_bias: false`; for NeoX `embedding_dropout_rate: 0.1`,
/// `use_untied_layer_norm: false`), so a CS config must state those keys, as upstream.
inline TableConfigConverter::Defaults gptj_model_cs_defaults()
{
    return {{"max_position_embeddings", 1024},       {"embedding_dropout_rate", 0.1},
            {"share_embedding_weights", true},       {"residual_dropout_rate", 0.1},
            {"nonlinearity", "gelu"},                {"layer_norm_epsilon", 1e-05},
            {"use_ffn_bias", false},                 {"use_untied_layer_norm", false},
            {"attention_dropout_rate", 0.1},         {"use_projection_bias_in_attention", true},
            {"use_ffn_bias_in_attention", true},     {"initializer_range", 0.02},
            {"use_bias_in_output", false},           {"norm_first", true}};
}

/// The defaults the Model Zoo's config converters of a CS GPT2LMHeadModel (LLaMA, MPT, ...)
/// insert into a CS config before converting it to HF; a family appends its own.
inline TableConfigConverter::Defaults gpt2_model_cs_defaults()
{
    return {{"share_embedding_weights", true},         {"max_position_embeddings", 1024},
            {"position_embedding_type", "learned"},    {"layer_norm_epsilon", 1e-05},
            {"use_projection_bias_in_attention", true}, {"use_ffn_bias_in_attention", true},
            {"nonlinearity", "gelu"},                  {"use_ffn_bias", true},
            {"use_bias_in_output", false},             {"norm_first", true}};
}

/// HF `rope_scaling` <-> CS `pos_scaling_factor` (+ `pos_scaling_type`, `pos_scaling_extra_args`)
/// as GPT-NeoX and Falcon convert it (the Model Zoo's convert_pi; types linear, yarn, longrope,
/// read from the dict's `type`). Families list the two CS-only keys as dropped rows after it, and
/// gate them by release with rope_scaling_gates() (release_gate.hpp). `llama` is LLaMA's version:
/// also llama3 scaling, whose type transformers spells `rope_type` (read when `type` is absent).
inline ConfigAction convert_rope_scaling(bool llama = false)
{
    return config_action("convert_pi", [llama](ConfigContext& c, const std::string& o, const std::string& n) {
        const ConstNode v = c.src[o];
        if (c.from == kHfSide) {
            if (!v.present() || v.is_null()) {
                c.dst.entry(n).set(1.0);
                return;
            }
            const std::string found = Value::read(v).str();
            if (!v.is_map())
                throw ConfigConversionError(llama ? "rope_scaling must be a dictionary or null, found " + found
                                                  : "rope_scaling must be null or a dictionary with a 'type' string, found " + found);
            const ConstNode type_node = llama && !v.has("type") ? v["rope_type"] : v["type"];
            if (type_node.kind() != CKPT_NODE_STRING)
                throw ConfigConversionError(llama ? "rope_scaling needs a 'type' or 'rope_type' string, found " + found
                                                  : "rope_scaling must be null or a dictionary with a 'type' string, found " + found);
            std::string type = type_node.as_string();
            for (char& ch : type)
                ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
            if (type != "linear" && type != "yarn" && type != "longrope" && !(llama && type == "llama3"))
                throw ConfigConversionError(llama ? "Only `rope_scaling` type `linear`, `yarn`,`llama3` or 'longrope' are "
                                                    "currently supported, but got type `" + type + "`."
                                                  : "Only `rope_scaling` type `linear`, `yarn` or 'longrope' is currently "
                                                    "supported, but got type `" + type + "`.");
            if (!v.has("factor"))
                throw ConfigConversionError("rope_scaling of type " + type + " needs a 'factor'");
            c.dst.entry(n).assign(v["factor"]);
            c.dst.entry("pos_scaling_type").set(type);
            if (type == "yarn") {
                if (!v.has("original_max_position_embeddings"))
                    throw ConfigConversionError("rope_scaling of type yarn needs 'original_max_position_embeddings'");
                Node extra = c.dst.entry("pos_scaling_extra_args");
                extra.make_map();
                extra.entry("original_max_position_embeddings").assign(v["original_max_position_embeddings"]);
            } else if (type == "longrope" || type == "llama3") {
                // Both drop type and factor; llama3 drops rope_type too (longrope keeps it, as
                // the Model Zoo does). A llama3 dict spelled with `type` makes the Model Zoo raise
                // KeyError; we accept it.
                Node extra = c.dst.entry("pos_scaling_extra_args");
                extra.make_map();
                for (size_t i = 0; i < v.size(); ++i) {
                    const std::string k = v.key_at(i);
                    if (k != "type" && k != "factor" && !(type == "llama3" && k == "rope_type"))
                        extra.entry(k).assign(v.value_at(i));
                }
            }
            return;
        }
        if (Value::read(v) == Value(1.0)) {
            c.dst.entry(n).set_null();
            return;
        }
        // The Model Zoo indexes pos_scaling_type directly (KeyError when absent) and then
        // defaults it to linear; we take the default.
        const std::string type = config_string_or(c.src, "pos_scaling_type", "linear", "CS");
        Node out = c.dst.entry(n);
        out.make_map();
        out.entry(llama && type == "llama3" ? "rope_type" : "type").set(type);
        out.entry("factor").assign(v);
        const ConstNode extra = c.src["pos_scaling_extra_args"];
        if (extra.is_map())
            for (size_t i = 0; i < extra.size(); ++i)
                out.entry(extra.key_at(i)).assign(extra.value_at(i));
    });
}

// ---- the HF <-> CS converter -------------------------------------------------------------------

/// What a decoder family declares.
struct DecoderFamily {
    std::string hf_class;          // "GPTJForCausalLM"
    std::string hf_headless_class; // "GPTJModel"
    std::string hf_note_class;     // how the notes name the HF classes, when not hf_class: "FalconForCausalLM or RWForCausalLM"
    std::string hf_headless_note_class; // likewise for the headless form
    std::string cs_class;          // how the notes name the CS model: "GPTJModel(with head)"
    std::string registry_name;     // `name` in cs-2.4+ configs
    std::string hf_base_prefix;    // prefix of the base model's keys in the LM form: "transformer."
    std::string hf_embedding;      // the word embedding, relative to the base model: "wte.weight"
    std::vector<KeyRow> head_rows; // rows outside the base model in the LM form (lm_head, embed_out)
    std::function<void(CheckpointRules&)> base_rules;      // rows relative to the base model
    std::function<std::shared_ptr<DecoderConfig>()> config; // the config table, built once per converter
    /// The HF model keeps muP itself (BTLM, JAIS: the Model Zoo's attempt_mup_to_sp() False): a
    /// muP CS config goes to HF through the config table alone, with no refusal, and its tensors
    /// are copied unfolded (CheckpointContext::fold_mup false).
    bool mup_native = false;
    /// The HF tensor shapes the HF config implies (model_shapes.hpp; patterns accept the headless
    /// names too), checked before anything is written: on HF -> CS against the input tensors, on
    /// CS -> HF against the planned output. Unset: shapes are not checked.
    std::function<void(ModelShapes&, ConstNode hf_config)> shapes;
    /// Tensors the family adds after its rules ran, in either form and direction (BLOOM's and
    /// MPT's generated ALiBi slopes); empty: none.
    std::function<void(CheckpointContext&, bool headless)> after_rules;
    /// True when the family's own rules write the headless HF -> CS lm_head (MPT copies the word
    /// embedding there), so the helper's tied-copy-or-N(0, 0.02) head is not added.
    bool headless_head_from_rules = false;
    /// Rules applied in a pass of their own before the key table, for the form `headless` (full
    /// keys, `model.` prefixes included): Mixtral's expert rows, which take many source tensors
    /// at once. Unset: none.
    std::function<std::shared_ptr<const CheckpointRules>(bool headless)> first_pass;

    /// HF -> CS key rules for the LM (`headless` false) or headless form, CS `model.` accepted.
    std::shared_ptr<const CheckpointRules> rules(bool headless) const
    {
        auto base = std::make_shared<CheckpointRules>();
        base_rules(*base);
        // The CS model always has a head; a headless HF model has none to give it.
        base->add({re(R"(lm_head\.(?:weight|bias))")}, drop_tensor());
        if (headless)
            return with_model_prefix<CheckpointContext>(base);
        auto lm = std::make_shared<CheckpointRules>();
        add_rows(*lm, head_rows);
        lm->add({eq(hf_base_prefix, "")}, std::shared_ptr<const CheckpointRules>(base));
        return with_model_prefix<CheckpointContext>(lm);
    }
};

inline const char* headless_note()
{
    return "The HF model doesn't contain a language model head while the CS one does. When converting to CS, the "
           "exported checkpoint will contain a language model head initialized to default random values. When "
           "converting to HF, the language model head will be dropped.";
}

/// The Model Zoo's Build_HF_CS_Converter_WithOptionalModel for a decoder family: its config
/// table with the generic HF <-> CS post-processing (spec/mappings.md §1.2), muP folding or its
/// refusal, the key rules, and the headless lm_head.
class DecoderHfCs : public Converter {
public:
    DecoderHfCs(DecoderFamily family, bool headless, std::vector<std::string> formats, bool mup,
                std::string note_tail = {})
        : Converter({"hf"}, formats,
                    "hf " + note_class(family, headless) + " <-> " + join(formats) + " " +
                        family.cs_class + note_tail + (headless ? std::string("\n") + headless_note() : "")),
          m_family(std::move(family)), m_headless(headless), m_mup(mup), m_config(m_family.config()),
          m_rules(m_family.rules(headless)),
          m_first_pass(m_family.first_pass ? m_family.first_pass(headless) : nullptr)
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        if (req.direction == 0) {
            m_config->run(req, src, dst);
            const auto v = cs_version(req.tgt_fmt);
            // BaseConfigConverter_HF_CS of the releases up to 2.3 (the references' release).
            if (v && *v <= std::make_pair(2, 3) && !dst.has("mixed_precision"))
                dst.entry("mixed_precision").set(true);
            if (v && *v >= std::make_pair(2, 1) && *v <= std::make_pair(2, 3) && src.has("use_bfloat16"))
                dst.entry("fp16_type").set(config_flag_or(src, "use_bfloat16", false, "HF") ? "bfloat16" : "float16");
            if (v && *v >= std::make_pair(2, 4) && !dst.has("name"))
                dst.entry("name").set(m_family.registry_name);
            return;
        }
        const MupForm form = m_family.mup_native ? MupForm::none : mup_form(src);
        if (form != MupForm::none && !m_mup)
            throw ConfigConversionError("This model currently does not support muP checkpoint conversion to HF.");
        ScratchTree scratch(req.host->config);
        Node work = scratch.root();
        work.assign(src);
        if (form != MupForm::none) {
            for (const auto& k : mup_config_keys())
                work.erase(k);
            // Only when stated: the Model Zoo folds before inserting the pre-default (tied).
            if (work.has("share_embedding_weights"))
                work.find_mut("share_embedding_weights").set(false);
        }
        m_config->run(req, work, dst);
        if (src.has("fp16_type")) {
            const Value t = Value::read(src["fp16_type"]);
            if (t != Value("bfloat16") && t != Value("cbfloat16") && t != Value("float16"))
                throw Error(CKPT_ERR_INVALID_ARGUMENT, "Invalid fp16_type value: " + t.str());
            dst.entry("use_bfloat16").set(t != Value("float16"));
        }
        // What transformers' save_pretrained writes and loaders such as vLLM need (design.md §5);
        // CS checkpoints keep float32 master weights.
        if (!dst.has("architectures"))
            Value::list({Value(m_headless ? m_family.hf_headless_class : m_family.hf_class)}).write(dst.entry("architectures"));
        if (!dst.has("torch_dtype"))
            dst.entry("torch_dtype").set("float32");
    }

    void plan_checkpoint(const Request& req, ConstNode hf_config, ConstNode cs_config, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {hf_config, cs_config}, req.direction == 0 ? kHfSide : kCsSide};
        ctx.fold_mup = !m_family.mup_native;
        if (ctx.from == kHfSide)
            check_shapes(hf_config, kHfSide, ModelShapes::inputs_of(plan));
        if (m_first_pass)
            apply_rules(*m_first_pass, ctx);
        apply_rules(*m_rules, ctx);
        if (m_headless && ctx.from == kHfSide && !m_family.headless_head_from_rules)
            add_lm_head(ctx);
        if (m_family.after_rules)
            m_family.after_rules(ctx, m_headless);
        if (ctx.from == kCsSide)
            check_shapes(hf_config, kCsSide, plan.outputs());
    }

private:
    static std::string note_class(const DecoderFamily& f, bool headless)
    {
        const std::string& note = headless ? f.hf_headless_note_class : f.hf_note_class;
        return !note.empty() ? note : headless ? f.hf_headless_class : f.hf_class;
    }

    void check_shapes(ConstNode hf_config, int from, const std::vector<TensorDesc>& hf_tensors) const
    {
        if (!m_family.shapes)
            return;
        ModelShapes s(hf_config, from);
        m_family.shapes(s, hf_config);
        s.check(hf_tensors);
    }

    /// HF -> CS of a headless model: the CS head is the embedding when tied, else a fresh
    /// N(0, 0.02) draw, plus a zero bias when the CS model has one (spec/mappings.md §1.4).
    void add_lm_head(CheckpointContext& c) const
    {
        const std::string& embed = m_family.hf_embedding;
        if (!InputIndex(c.plan).has(embed))
            throw Error(CKPT_ERR_BAD_INPUT, "the headless HF checkpoint has no " + embed + " to size (or tie) the CS lm_head");
        const ckpt_value_id id = c.plan.input(embed);
        const TensorDesc info = c.plan.value_info(id);
        const int64_t vocab = config_int(c.config[kCsSide], "vocab_size", "CS");
        const int64_t hidden = config_int(c.config[kCsSide], "hidden_size", "CS");
        if (info.shape != std::vector<int64_t>{vocab, hidden})
            throw Error(CKPT_ERR_BAD_INPUT, "tensor " + embed + " does not have the shape [vocab_size, hidden_size] = [" +
                                                std::to_string(vocab) + ", " + std::to_string(hidden) +
                                                "] the config gives");
        c.req.log(CKPT_LOG_WARNING, join(side(1)) + " has a language model head (lm_head) while hf does not. "
                                                    "Initializing lm_head to default.");
        // The Model Zoo reads the flag after inserting its HF pre-defaults (StarCoder's and
        // SantaCoder's say tied), so an unset flag takes the family's pre-default.
        bool tied_default = false;
        for (const auto& [k, v] : m_config->pre_defaults[kHfSide])
            tied_default = k == "tie_word_embeddings" ? v == Value(true) : tied_default;
        if (config_flag_or(c.config[kHfSide], "tie_word_embeddings", tied_default, "HF")) {
            c.plan.copy("lm_head.weight", id);
        } else {
            const ckpt_value_id fresh = add_random_lm_head(c.plan, info.dtype == CKPT_DTYPE_F32 ? "lm_head.weight" : "",
                                                           vocab, hidden);
            if (info.dtype != CKPT_DTYPE_F32)
                c.plan.cast("lm_head.weight", fresh, info.dtype);
            c.req.log(CKPT_LOG_INFO, "lm_head.weight: a fixed-seed stand-in for N(0, 0.02), not torch's random draw");
        }
        if (config_flag_or(c.config[kCsSide], "use_bias_in_output", false, "CS"))
            c.plan.generate("lm_head.bias", CKPT_GEN_FILL, info.dtype, {vocab}, 0.0);
    }

    DecoderFamily m_family;
    bool m_headless;
    bool m_mup;
    std::shared_ptr<DecoderConfig> m_config;
    std::shared_ptr<const CheckpointRules> m_rules;
    std::shared_ptr<const CheckpointRules> m_first_pass;
};

// ---- CS -> CS release steps of the GPT-style models -------------------------------------------

/// cs-1.8/1.9 <-> cs-2.0 (spec/mappings.md §3): the boolean norm flag (`use_biasless_norm` for
/// the GPTJModel families, `use_rms_norm` for GPT2LMHeadModel) becomes `norm_type`, and the tie
/// repair fills a missing lm_head / word embedding or ln_f / final norm from its twin.
class DecoderCs19Cs20 : public Converter {
public:
    /// `flag` and `flag_true` name the cs-1.x flag and the norm_type it means when true.
    DecoderCs19Cs20(std::vector<std::string> old_formats, std::string note, std::string flag, std::string flag_true)
        : Converter(std::move(old_formats), {"cs-2.0"}, std::move(note)), m_flag(std::move(flag)),
          m_flag_true(std::move(flag_true))
    {
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        copy_config(src, dst, [&](const std::string& k, ConstNode v) {
            if (req.direction == 0 && k == m_flag) {
                const Value flag = Value::read(v);
                if (strict_flag && flag != Value(true) && flag != Value(false))
                    throw ConfigConversionError("Can't convert config with " + k + "=" + flag.str() +
                                                ". Only True, False is supported.");
                dst.entry("norm_type").set(config_flag_or(src, k, false, "CS") ? m_flag_true : "layernorm");
                return true;
            }
            if (req.direction == 1 && k == "norm_type") {
                const Value given = Value::read(v);
                if (strict_flag && given != Value(m_flag_true) && given != Value("layernorm"))
                    throw ConfigConversionError("Can't convert config with norm_type=" + given.str() + ". Only ['" +
                                                m_flag_true + "', 'layernorm'] is supported.");
                const std::string norm = config_string_or(src, k, "layernorm", "CS");
                if (norm != m_flag_true && norm != "layernorm")
                    throw ConfigConversionError("Can't convert config with norm_type=" + norm + ". Only ['" +
                                                m_flag_true + "', 'layernorm'] is supported.");
                dst.entry(m_flag).set(norm == m_flag_true);
                return true;
            }
            return false;
        });
        // The Model Zoo's pre-convert defaults (flag false, norm_type layernorm): a missing key is
        // converted as its default, and so written last.
        if (req.direction == 0 && (norm_type_default || write_missing) && !dst.has("norm_type"))
            dst.entry("norm_type").set("layernorm");
        if (write_missing && req.direction == 1 && !src.has("norm_type") && !dst.has(m_flag))
            dst.entry(m_flag).set(false);
    }

    void plan_checkpoint(const Request& req, ConstNode old_cs, ConstNode cs20, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {old_cs, cs20}, req.direction == 0 ? 0 : 1};
        apply_rules(*copy_everything(), ctx);
        const InputIndex have(plan);
        const ConstNode share = ctx.config[ctx.from]["share_embedding_weights"];
        const bool tied = strict_flag ? detail::unset(share) || Value::read(share) == Value(true)
                                      : config_flag_or(ctx.config[ctx.from], "share_embedding_weights", true, "CS");
        auto fill = [&](const std::string& a, const std::string& b) {
            if (have.has(a) == have.has(b))
                return;
            const std::string& from = have.has(a) ? a : b;
            const std::string& to = have.has(a) ? b : a;
            plan.copy(to, plan.input(from));
            if (log_repairs)
                req.log(CKPT_LOG_INFO, to + " restored from " + from);
        };
        for (const std::string prefix : {"", "model."}) {
            if (tied)
                fill(prefix + "lm_head.weight", prefix + "embedding_layer.word_embeddings.weight");
            for (const char* suffix : {"weight", "bias"})
                fill(prefix + "ln_f." + suffix, prefix + "transformer_decoder.norm." + suffix);
        }
    }

    // Options of GPT-2's step (Converter_GPT2LMHeadModel_CS18_CS20); the defaults keep the others'.
    /// A cs-1.x config without the flag gets `norm_type: layernorm` in cs-2.0.
    bool norm_type_default = false;
    /// Flags read strictly: a cs-1.x flag that is not a boolean and a norm_type the step does not
    /// know (null included) are refused (ConfigConversionError) instead of read by Python's truth
    /// or defaulted, and only an unset or `true` share_embedding_weights ties the embeddings.
    bool strict_flag = false;
    /// Every tensor the tie repair restores is logged (info).
    bool log_repairs = false;
    /// Both ways, writes the converted default when the source lacks the norm key
    /// (ConfigConverter_GPT2Model_CS18_CS20's pre-convert defaults; `norm_type_default` is the
    /// cs-1.x -> cs-2.0 half of it); false keeps a missing key missing.
    bool write_missing = false;

private:
    std::string m_flag, m_flag_true;
};

/// cs-2.0 <-> cs-2.1 (spec/mappings.md §3): the embedding refactor's renames (optional `model.`
/// prefix kept) and `use_bfloat16` <-> `fp16_type`.
class DecoderCs20Cs21 : public Converter {
public:
    explicit DecoderCs20Cs21(std::string note) : Converter({"cs-2.0"}, {"cs-2.1"}, std::move(note))
    {
        auto r = std::make_shared<CheckpointRules>();
        const Segment prefix = re(R"((?:model\.)?)");
        r->add({prefix, eq("embedding_layer.position_embeddings.weight", "embedding_layer.position_embeddings.embed.weight")},
               copy_tensor());
        r->add({prefix, eq("embedding_layer.position_embeddings", "embedding_layer.position_embeddings.fpe")}, copy_tensor());
        r->add({prefix, eq("relative_pe_helper.", "embedding_layer.position_embed_helper."),
                re(R"((?:relative_attention_bias\.(?:weight|bias)|slopes))")},
               copy_tensor());
        r->add({re(".*")}, copy_tensor());
        m_rules = r;
    }

    void convert_config(const Request& req, ConstNode src, Node dst) override
    {
        copy_config(src, dst, [&](const std::string& k, ConstNode v) { return rewrite_fp16_type(req.direction == 0, k, v, dst); });
        // The Model Zoo's step copies every key: an implied value stays, any other is refused.
        apply_release_gates(gates, req.tgt_fmt, dst, ImpliedValue::keep);
    }

    void plan_checkpoint(const Request& req, ConstNode cs20, ConstNode cs21, Plan& plan) override
    {
        CheckpointContext ctx{req, plan, {cs20, cs21}, req.direction == 0 ? 0 : 1};
        apply_rules(*m_rules, ctx);
    }

    /// The family's model keys first known in Release_2.1.0, checked on the way down to cs-2.0.
    KeyGates gates;

private:
    std::shared_ptr<const CheckpointRules> m_rules;
};

} // namespace ckpt::sdk
