// SPDX-License-Identifier: Apache-2.0
// `ckptconv fold-lora` on Cerebras checkpoints made from the gpt2, llama, bert, t5, gptj and
// mixtral fixtures with LoRA factors generated here: merged values against an independent float64
// merge, the config, which modules each target_modules class path holds, refusals.
#include "lora_test_util.hpp"

#include "formats/container.hpp"
#include "checkpoint_support.hpp"
#include "formats/mdl/mdl.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <regex>

namespace ckpt::test::lora {
namespace {

namespace fs = std::filesystem;

/// Which modules get factors, of what rank, and how the fold must apply them.
struct ModuleSpec {
    std::string pattern; // regex over the module name (the key without .weight)
    int64_t r = 0;
    double scale = 1.0;
    bool transposed = false;
};

struct CsCase {
    fs::path checkpoint, config;
    std::vector<NamedTensor> base;                 // in file order, without factors
    std::map<std::string, std::vector<Factor>> factors; // by weight name
};

/// A fixture tensor's name in the case's checkpoint; "" drops the tensor.
using Rename = std::function<std::string(const std::string&)>;

/// The fixture's `model` tensors in `dtype` (renamed by `rename`), plus seeded factors for every
/// module `specs` match, written to dir/ckpt.mdl; the fixture's config with `lora_yaml` appended
/// to its model section (4-space indented lines) to dir/params.yaml.
CsCase make_cs_case(const fs::path& dir, const std::string& family, DType dtype, const std::vector<ModuleSpec>& specs,
                    const std::string& lora_yaml, const Rename& rename = {})
{
    CsCase c;
    const fs::path ref = data_path("cs-ref/" + family + "/hf_to_cs");
    Checkpoint ck = open_checkpoint(ref / "pytorch_model_to_cs-2.3.mdl");
    Node model = Node::map();
    uint32_t seed = 100;
    for (const auto& t : flat_tensors(*ck.root.find("model"), "fixture")) {
        const std::string name = rename ? rename(t.name) : t.name;
        if (name.empty())
            continue;
        TensorPtr w = recast(t.tensor, dtype);
        c.base.push_back({name, w});
        model.append(Node(name), Node(w));
        if (w->info().shape.size() != 2)
            continue;
        const std::string module = name.substr(0, name.size() - 7);
        for (const ModuleSpec& s : specs) {
            if (!std::regex_match(module, std::regex(s.pattern)))
                continue;
            const int64_t rows = w->info().shape[0], cols = w->info().shape[1];
            Factor f;
            f.a = seeded(dtype, {s.r, s.transposed ? rows : cols}, ++seed);
            f.b = seeded(dtype, {s.transposed ? cols : rows, s.r}, ++seed);
            f.scale = s.scale;
            f.transposed = s.transposed;
            model.append(Node(module + ".lora_A"), Node(f.a));
            model.append(Node(module + ".lora_B"), Node(f.b));
            c.factors[name].push_back(f);
            break;
        }
    }
    Node root = Node::map();
    root.set("model", model);
    c.checkpoint = dir / "ckpt.mdl";
    write_mdl(c.checkpoint, root);
    c.config = dir / "params.yaml";
    write_text(c.config, read_file(ref / "config_to_cs-2.3.yaml") + lora_yaml);
    return c;
}

/// Checks a folded checkpoint: every base tensor, merged where factors were given (within one
/// ulp of the float64 merge), byte-identical elsewhere, and no factor left.
void expect_folded(const CsCase& c, const fs::path& folded)
{
    const auto out = model_tensors(folded);
    EXPECT_EQ(out.size(), c.base.size());
    for (const auto& [name, t] : out)
        EXPECT_EQ(name.find(".lora_"), std::string::npos) << name;
    for (const auto& b : c.base) {
        auto it = out.find(b.name);
        ASSERT_NE(it, out.end()) << b.name;
        auto f = c.factors.find(b.name);
        if (f == c.factors.end()) {
            EXPECT_TRUE(equal_bytes(*it->second, *b.tensor)) << b.name << " changed";
            continue;
        }
        ASSERT_EQ(it->second->info(), b.tensor->info()) << b.name;
        EXPECT_TRUE(within_one_ulp(*it->second, merged_reference(*b.tensor, f->second), b.name));
    }
}

const std::string kAttn = R"(transformer_decoder\.layers\.\d+\.self_attn\.proj_\w+_dense_layer)";
const std::string kFfn = R"(transformer_decoder\.layers\.\d+\.ffn\.ffn\.\d+\.linear_layer\w*)";
const std::string kEmb = R"(embedding_layer\.(word_embeddings|position_embeddings\.embed))";

TEST(FoldLoraCs, Gpt2GroupsByModuleClassUntiesTheAdaptedEmbedding)
{
    TempDir dir;
    // Attention at rank 4 (alpha 8), both embeddings at rank 2 (always transposed), the MLP stored
    // fan-in first at rank 3; the head is in no group and stays as it was.
    const CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32,
                                  {{kAttn, 4, 2.0, false}, {kEmb, 2, 1.5, true}, {kFfn, 3, 0.5, true}},
                                  "    lora_params:\n"
                                  "    -   r: 4\n        alpha: 8\n        target_modules: [MultiheadAttention]\n"
                                  "    -   r: 2\n        alpha: 3\n        target_modules: [EmbeddingLayer, Embedding]\n"
                                  "    -   r: 3\n        alpha: 1.5\n        fan_in_fan_out: true\n"
                                  "        dropout: 0.1\n        target_modules: [SingleFeedForwardLayer, Linear]\n");
    ASSERT_EQ(c.factors.size(), 2u * (4 + 2) + 2);
    const fs::path out = dir / "out";
    RunResult r = cli({"fold-lora", "--model", "gpt2", "-p", c.config.string(), "--checkpoint_path",
                       c.checkpoint.string(), "--output-dir", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Saved folded config to: " + (out / "params_folded.yaml").string()), std::string::npos);
    EXPECT_NE(r.out.find("Saved folded checkpoint to: " + (out / "ckpt_folded.mdl").string()), std::string::npos);
    EXPECT_NE(r.err.find("disables weight tying (i.e. share_embedding_weights=False)"), std::string::npos) << r.err;
    expect_folded(c, out / "ckpt_folded.mdl");

    // The config keeps its order (safe_dump, sort_keys=False) without lora_params, untied.
    const std::string yaml = read_file(out / "params_folded.yaml");
    EXPECT_EQ(yaml.find("lora"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("share_embedding_weights: false"), std::string::npos) << yaml;
    EXPECT_LT(yaml.find("attention_dropout_rate"), yaml.find("vocab_size"));
    // Inputs untouched, and only the two outputs written.
    EXPECT_EQ(list_tree(out), (std::vector<std::string>{"ckpt_folded.mdl", "params_folded.yaml"}));
}

TEST(FoldLoraCs, LlamaBf16MultiQueryAttentionAndGatedMlp)
{
    TempDir dir;
    // A single group naming a class path: every Linear under MultiQueryAttention (llama's
    // attention_module), and a second group for the gated MLP's three layers.
    const CsCase c = make_cs_case(dir.path(), "llama", DType::bf16, {{kAttn, 4, 2.0, false}, {kFfn, 2, 0.75, false}},
                                  "    lora_params:\n"
                                  "    -   r: 4\n        alpha: 8\n        target_modules: [MultiQueryAttention, Linear]\n"
                                  "    -   r: 2\n        alpha: 1.5\n"
                                  "        target_modules: [TransformerDecoderLayer, FeedForwardNetwork]\n");
    ASSERT_EQ(c.factors.size(), 2u * (4 + 3));
    RunResult r = cli({"fold-lora", "--model", "llama", "--params", c.config.string(), c.checkpoint.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("weight tying"), std::string::npos) << r.err; // llama is untied already
    expect_folded(c, dir / "ckpt_folded.mdl");
    EXPECT_EQ(read_file(dir / "params_folded.yaml").find("lora_params"), std::string::npos);
}

/// Runs fold-lora on a case and expects `code` with `message` in stderr and nothing written.
void expect_refused(const CsCase& c, const fs::path& out, int code, const std::string& message,
                    const std::string& model = "gpt2")
{
    RunResult r = cli({"fold-lora", "--model", model, "-p", c.config.string(), "--checkpoint_path",
                       c.checkpoint.string(), "--output-dir", out.string()});
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_TRUE(!fs::exists(out) || list_tree(out).empty()) << "partial output left";
}

TEST(FoldLoraCs, RefusesCheckpointsTheConfigDoesNotDescribe)
{
    const std::string attn_only = "    lora_params:\n        r: 4\n        alpha: 8\n"
                                  "        target_modules: [MultiheadAttention]\n";
    const std::string q0 = "transformer_decoder.layers.0.self_attn.proj_q_dense_layer";
    {
        // The config adapts the MLP too, the checkpoint has no factors there.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}},
                                "    lora_params:\n        r: 4\n        alpha: 8\n");
        expect_refused(c, dir / "out", 1, "lora_params adapt embedding_layer.word_embeddings");
    }
    {
        // Factors of rank 4, config rank 5.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}},
                                "    lora_params:\n        r: 5\n        target_modules: [MultiheadAttention]\n");
        expect_refused(c, dir / "out", 4, q0 + ".lora_A has rank 4, but lora_params give " + q0 + " rank 5");
    }
    {
        // No lora_params at all.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}}, "");
        expect_refused(c, dir / "out", 4, "the model section has no lora_params");
    }
    {
        // A factor of the wrong shape: B with 3 rows for a 64-row weight.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}}, attn_only);
        Checkpoint ck = open_checkpoint(c.checkpoint);
        Node root = ck.root;
        root.find("model")->set(q0 + ".lora_B", Node(seeded(DType::f32, {3, 4}, 1)));
        fs::remove(c.checkpoint);
        write_mdl(c.checkpoint, root);
        expect_refused(c, dir / "out", 4, q0 + ".weight: the LoRA factors " + q0 + ".lora_A F32[4, 64] and " + q0 +
                                               ".lora_B F32[3, 4] make a [3, 64] update");
    }
    {
        // A factor without its partner.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}}, attn_only);
        Checkpoint ck = open_checkpoint(c.checkpoint);
        Node root = ck.root;
        root.find("model")->erase(q0 + ".lora_B");
        fs::remove(c.checkpoint);
        write_mdl(c.checkpoint, root);
        expect_refused(c, dir / "out", 4, "the checkpoint has " + q0 + ".lora_A but no " + q0 + ".lora_B");
    }
    {
        // An unknown LoRA parameter is refused as LoraConfig(**params) would.
        TempDir dir;
        CsCase c = make_cs_case(dir.path(), "gpt2", DType::f32, {{kAttn, 4, 2.0, false}},
                                attn_only + "        rank: 4\n");
        expect_refused(c, dir / "out", 4, "model.lora_params.rank: unknown LoRA parameter");
    }
}

const std::string kBertAttn = R"(bert_encoder\.transformer_encoder\.layers\.\d+\.self_attn\.proj_\w+_dense_layer)";

TEST(FoldLoraCs, BertGroupsByClassesAboveTheLayer)
{
    TempDir dir;
    // Attention through the encoder layer's class path, the pooler and the MLM transform by their
    // own module classes, every table of the embedding layer; the encoder MLP, the MLM classifier
    // and the NSP head are in no group and stay as they were.
    const std::string pooler = R"(bert_encoder\.pooler\.pooler\.ffn\.0\.linear_layer)";
    const std::string transform = R"(bert_mlm_head\.mlm_transform\.ffn\.ffn\.0\.linear_layer)";
    const std::string tables = R"(bert_encoder\.embedding_layer\.(\w+_embeddings|position_embeddings\.embed))";
    const CsCase c = make_cs_case(
        dir.path(), "bert", DType::f32,
        {{kBertAttn, 4, 2.0, false}, {pooler, 2, 1.5, false}, {transform, 3, 0.5, true}, {tables, 2, 0.5, true}},
        "    lora_params:\n"
        "    -   r: 4\n        alpha: 8\n        target_modules: [TransformerEncoderLayer, MultiheadAttention]\n"
        "    -   r: 2\n        alpha: 3\n        target_modules: [BertPooler]\n"
        "    -   r: 3\n        alpha: 1.5\n        fan_in_fan_out: true\n        target_modules: [BertMLMHeadTransform]\n"
        "    -   r: 2\n        alpha: 1\n        target_modules: [EmbeddingLayer]\n");
    ASSERT_EQ(c.factors.size(), 2u * 4 + 1 + 1 + 3);
    RunResult dry = cli({"fold-lora", "--model", "bert", "-p", c.config.string(), c.checkpoint.string(),
                         "--output-dir", (dir / "out").string(), "--dry-run"});
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_NE(dry.out.find("bert_encoder.transformer_encoder.layers.0.self_attn.proj_q_dense_layer.weight F32[64, "
                           "64] = kernel("),
              std::string::npos)
        << dry.out;
    EXPECT_NE(dry.out.find("Would write " + (dir / "out/ckpt_folded.mdl").string()), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "out"));

    // Without share_embedding_weights the model ties by default; the Model Zoo's tool would read the
    // key as false and keep the tie (docs/decisions.md, D24).
    std::string yaml = read_file(c.config);
    const std::string share = "    share_embedding_weights: true\n";
    ASSERT_NE(yaml.find(share), std::string::npos);
    yaml.erase(yaml.find(share), share.size());
    fs::remove(c.config);
    write_text(c.config, yaml);
    RunResult r = cli({"fold-lora", "--model", "bert", "-p", c.config.string(), c.checkpoint.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The word embedding was adapted: the MLM classifier tied to it keeps its own stored values.
    EXPECT_NE(r.err.find("disables weight tying (i.e. share_embedding_weights=False)"), std::string::npos) << r.err;
    expect_folded(c, dir / "ckpt_folded.mdl");
    EXPECT_NE(read_file(dir / "params_folded.yaml").find("share_embedding_weights: false"), std::string::npos);
}

TEST(FoldLoraCs, BertSequenceClassifierHeadAndFirstMatchingGroup)
{
    TempDir dir;
    // A bert-sequence-classifier checkpoint (BertModel under `bert.`, a 2-label `classifier`)
    // made from the pre-training fixture. The groups are tried in order: the encoder layers and
    // the pooler take theirs, and only the classifier is left for the catch-all Linear group.
    const Rename to_classifier = [](const std::string& n) -> std::string {
        if (n.rfind("bert_encoder.", 0) == 0)
            return "bert." + n.substr(13);
        const std::string nsp = "bert_cls_head.classifier.ffn.0.linear_layer.";
        if (n.rfind(nsp, 0) == 0)
            return "classifier." + n.substr(nsp.size());
        return "";
    };
    const CsCase c = make_cs_case(
        dir.path(), "bert", DType::bf16,
        {{R"(bert\.transformer_encoder\.layers\.\d+\.(self_attn|ffn)\.\w+(\.\d+\.linear_layer)?)", 4, 1.0, false},
         {R"(bert\.pooler\.pooler\.ffn\.0\.linear_layer)", 2, 1.5, false},
         {R"(classifier)", 1, 2.0, false}},
        "    lora_params:\n"
        "    -   r: 4\n        alpha: 4\n        target_modules: [TransformerEncoderLayer]\n"
        "    -   r: 2\n        alpha: 3\n        target_modules: [BertPooler]\n"
        "    -   r: 1\n        alpha: 2\n        target_modules: [BertForSequenceClassification, Linear]\n",
        to_classifier);
    ASSERT_EQ(c.factors.size(), 2u * (4 + 2) + 1 + 1);
    RunResult r = cli({"fold-lora", "--model", "bert-sequence-classifier", "-p", c.config.string(),
                       c.checkpoint.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("weight tying"), std::string::npos) << r.err; // no tied pair in this model
    expect_folded(c, dir / "ckpt_folded.mdl");
}

TEST(FoldLoraCs, BertRefusesAClassThatHoldsNoneOfTheFactors)
{
    TempDir dir;
    // The encoder MLP has factors, but TransformerDecoderLayer is no class of BERT's tree.
    const CsCase c = make_cs_case(
        dir.path(), "bert", DType::f32,
        {{R"(bert_encoder\.transformer_encoder\.layers\.\d+\.ffn\.ffn\.\d+\.linear_layer)", 2, 1.0, false}},
        "    lora_params:\n        r: 2\n        target_modules: [TransformerDecoderLayer]\n");
    expect_refused(c, dir / "out", 1,
                   "the checkpoint has LoRA factors for bert_encoder.transformer_encoder.layers.0.ffn.ffn.0.linear_layer "
                   "(BertForPreTrainingModel > BertPretrainModel > BertModel > TransformerEncoder > ModuleList > "
                   "TransformerEncoderLayer > FeedForwardNetwork > ModuleList > SingleFeedForwardLayer > Linear), but "
                   "lora_params give that module no group",
                   "bert");
}

TEST(FoldLoraCs, T5DecoderAttentionEncoderMlpAndPositionBias)
{
    TempDir dir;
    // The decoder's self- and cross-attention (both MultiheadAttention inside TransformerDecoderLayer),
    // the encoder's MLP, the relative position bias tables (first group that matches them) and the
    // word embeddings (the EmbeddingLayer group); the encoder attention, the decoder MLP and lm_head
    // stay as they were.
    const std::string dec_attn = R"(decoder\.layers\.\d+\.(self_attn|multihead_attn)\.proj_\w+_dense_layer)";
    const std::string enc_ffn = R"(encoder\.layers\.\d+\.ffn\.ffn\.\d+\.linear_layer)";
    const std::string bias = R"(\w+_embeddings\.position_embed_helper\.relative_attention_bias)";
    const std::string words = R"(\w+_embeddings\.word_embeddings)";
    const CsCase c = make_cs_case(dir.path(), "t5", DType::f32,
                                  {{dec_attn, 4, 2.0, false}, {enc_ffn, 2, 0.5, false}, {bias, 2, 1.5, true},
                                   {words, 1, 1.0, true}},
                                  "    lora_params:\n"
                                  "    -   r: 4\n        alpha: 8\n"
                                  "        target_modules: [TransformerDecoderLayer, MultiheadAttention]\n"
                                  "    -   r: 2\n        alpha: 1\n"
                                  "        target_modules: [TransformerEncoder, FeedForwardNetwork]\n"
                                  "    -   r: 2\n        alpha: 3\n        target_modules: [RelativePositionEmbeddingLayer]\n"
                                  "    -   r: 1\n        alpha: 1\n        target_modules: [EmbeddingLayer]\n");
    ASSERT_EQ(c.factors.size(), 2u * 8 + 2u * 2 + 2 + 2);
    RunResult r = cli({"fold-lora", "--model", "transformer", "-p", c.config.string(), c.checkpoint.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The decoder's word embedding is the one tied to lm_head; the encoder's, tied to it by default,
    // was adapted separately (docs/decisions.md, D24).
    EXPECT_NE(r.err.find("disables weight tying (i.e. share_embedding_weights=False)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("share_encoder_decoder_embedding=False"), std::string::npos) << r.err;
    expect_folded(c, dir / "ckpt_folded.mdl");
    const std::string yaml = read_file(dir / "params_folded.yaml");
    EXPECT_NE(yaml.find("share_embedding_weights: false"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("share_encoder_decoder_embedding: false"), std::string::npos) << yaml;
}

TEST(FoldLoraCs, GptjLayerClassIsGptjDecoderLayer)
{
    const std::string layers = R"(transformer_decoder\.layers\.\d+\.(self_attn|ffn)\.\w+(\.\d+\.linear_layer)?)";
    {
        TempDir dir;
        const CsCase c = make_cs_case(dir.path(), "gptj", DType::f32, {{layers, 2, 1.0, false}},
                                      "    lora_params:\n        r: 2\n        alpha: 2\n"
                                      "        target_modules: [GPTJDecoderLayer, Linear]\n");
        ASSERT_EQ(c.factors.size(), 2u * (4 + 2));
        RunResult r = cli({"fold-lora", "--model", "codegen", "-p", c.config.string(), c.checkpoint.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        expect_folded(c, dir / "ckpt_folded.mdl");
    }
    {
        // make_model_lora compares class names, so the base class TransformerDecoderLayer is not one.
        TempDir dir;
        const CsCase c = make_cs_case(dir.path(), "gptj", DType::f32, {{layers, 2, 1.0, false}},
                                      "    lora_params:\n        r: 2\n        target_modules: [TransformerDecoderLayer]\n");
        expect_refused(c, dir / "out", 1, "GptjModel > GPTJModel > TransformerDecoder > ModuleList > GPTJDecoderLayer",
                       "gptj");
    }
}

TEST(FoldLoraCs, MixtralRouterIsTheMoeBlocksOnlyLinear)
{
    TempDir dir;
    // The experts' fused weights are no Linear layers; SparseMoEBlock holds the router only.
    const CsCase c = make_cs_case(dir.path(), "mixtral", DType::f32,
                                  {{R"(transformer_decoder\.layers\.\d+\.ffn\.gate)", 2, 0.5, false}},
                                  "    lora_params:\n        r: 2\n        alpha: 1\n"
                                  "        target_modules: [TransformerDecoderLayer, SparseMoEBlock]\n");
    ASSERT_EQ(c.factors.size(), 2u);
    RunResult r = cli({"fold-lora", "--model", "mixtral", "-p", c.config.string(), c.checkpoint.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_folded(c, dir / "ckpt_folded.mdl");
}

TEST(FoldLoraCs, UnknownTreeMatchesTheLayerOnly)
{
    // For models without a known module tree (esm-2, clip-vit, ...) only target_modules naming
    // Linear or Embedding work; the check is shared, so it is shown here with a tensor name no
    // bert module has (and a class no bert module has, so that no module lacks its factors).
    TempDir dir;
    const CsCase c = make_cs_case(dir.path(), "bert", DType::f32, {{"extra_proj", 2, 1.0, false}},
                                  "    lora_params:\n        r: 2\n        target_modules: [MultiQueryAttention]\n",
                                  [](const std::string& n) {
                                      return n == "bert_cls_head.classifier.ffn.0.linear_layer.weight"
                                                 ? std::string("extra_proj.weight")
                                                 : n;
                                  });
    expect_refused(c, dir / "out", 1, "cannot tell whether extra_proj lies inside a MultiQueryAttention module",
                   "bert");
    // A Cerebras checkpoint without --model is a usage error.
    RunResult r = cli({"fold-lora", "-p", "x.yaml", "y.mdl"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

} // namespace
} // namespace ckpt::test::lora
