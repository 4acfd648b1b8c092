// SPDX-License-Identifier: Apache-2.0
// `ckptconv fold-lora` on Cerebras checkpoints made from the gpt2 and llama fixtures with LoRA
// factors generated here: merged values against an independent float64 merge, the config, refusals.
#include "lora_test_util.hpp"

#include "formats/container.hpp"
#include "checkpoint_support.hpp"
#include "formats/mdl/mdl.hpp"

#include <gtest/gtest.h>

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

/// The fixture's `model` tensors in `dtype`, plus seeded factors for every module `specs` match,
/// written to dir/ckpt.mdl; the fixture's config with `lora_yaml` appended to its model section
/// (4-space indented lines) to dir/params.yaml.
CsCase make_cs_case(const fs::path& dir, const std::string& family, DType dtype, const std::vector<ModuleSpec>& specs,
                    const std::string& lora_yaml)
{
    CsCase c;
    const fs::path ref = data_path("cs-ref/" + family + "/hf_to_cs");
    Checkpoint ck = open_checkpoint(ref / "pytorch_model_to_cs-2.3.mdl");
    Node model = Node::map();
    uint32_t seed = 100;
    for (const auto& t : flat_tensors(*ck.root.find("model"), "fixture")) {
        TensorPtr w = recast(t.tensor, dtype);
        c.base.push_back({t.name, w});
        model.append(Node(t.name), Node(w));
        if (w->info().shape.size() != 2)
            continue;
        const std::string module = t.name.substr(0, t.name.size() - 7);
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
            c.factors[t.name].push_back(f);
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

TEST(FoldLoraCs, BertAtLayerLevelAndDryRun)
{
    // For models outside the Gpt2Model tree only the layer's own class is known: target_modules
    // naming Linear fold; naming an ancestor is refused with the reason.
    const std::string attn = R"(bert_encoder\.transformer_encoder\.layers\.\d+\.self_attn\.proj_\w+_dense_layer)";
    {
        TempDir dir;
        const CsCase c = make_cs_case(dir.path(), "bert", DType::f32, {{attn, 2, 2.0, false}},
                                      "    lora_params:\n        r: 2\n        alpha: 4\n        target_modules: [Linear]\n");
        RunResult dry = cli({"fold-lora", "--model", "bert", "-p", c.config.string(), c.checkpoint.string(),
                             "--output-dir", (dir / "out").string(), "--dry-run"});
        ASSERT_EQ(dry.exit_code, 0) << dry.err;
        EXPECT_NE(dry.out.find("bert_encoder.transformer_encoder.layers.0.self_attn.proj_q_dense_layer.weight F32[64, "
                               "64] = kernel("),
                  std::string::npos)
            << dry.out;
        EXPECT_NE(dry.out.find("Would write " + (dir / "out/ckpt_folded.mdl").string()), std::string::npos);
        EXPECT_FALSE(fs::exists(dir / "out"));
        RunResult r = cli({"fold-lora", "--model", "bert", "-p", c.config.string(), c.checkpoint.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        expect_folded(c, dir / "ckpt_folded.mdl");
    }
    {
        TempDir dir;
        const CsCase c = make_cs_case(dir.path(), "bert", DType::f32, {{attn, 2, 2.0, false}},
                                      "    lora_params:\n        r: 2\n        target_modules: [MultiheadAttention]\n");
        expect_refused(c, dir / "out", 1, "cannot tell whether bert_encoder.transformer_encoder.layers.0.self_attn."
                                          "proj_q_dense_layer lies inside a MultiheadAttention module", "bert");
    }
    // A Cerebras checkpoint without --model is a usage error.
    RunResult r = cli({"fold-lora", "-p", "x.yaml", "y.mdl"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

} // namespace
} // namespace ckpt::test::lora
