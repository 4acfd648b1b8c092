// SPDX-License-Identifier: Apache-2.0
// llama plugin behaviour the references do not cover: the rotary interleave checked row by row
// (GQA fixture and a synthetic MHA model with biases and q/k norms), dropped buffers, headless
// lm_head synthesis, rope_scaling round trips, the cs-2.4+ `name` key and muP folding.
#include "checkpoint_support.hpp"

#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace ckpt::test::llama {
namespace {

/// CS row i of a rotary projection comes from this HF row (HF rotate-half -> CS interleaved).
int64_t hf_row_for_cs_row(int64_t i, int64_t head_dim)
{
    const int64_t head = i / head_dim, r = i % head_dim, half = head_dim / 2;
    return head * head_dim + (r % 2 == 0 ? r / 2 : half + r / 2);
}

void expect_interleaved(const Tensor& hf, const Tensor& cs, int64_t heads, const std::string& what)
{
    ASSERT_EQ(hf.shape, cs.shape) << what;
    const int64_t rows = hf.shape[0];
    const int64_t cols = hf.shape.size() == 2 ? hf.shape[1] : 1;
    const int64_t head_dim = rows / heads;
    for (int64_t i = 0; i < rows; ++i) {
        const int64_t src = hf_row_for_cs_row(i, head_dim);
        for (int64_t c = 0; c < cols; ++c)
            ASSERT_EQ(cs.values[static_cast<size_t>(i * cols + c)], hf.values[static_cast<size_t>(src * cols + c)])
                << what << " row " << i;
    }
}

TEST(LlamaRotary, GqaFixtureRowsArePermutedPerHead)
{
    TempDir out;
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       hf("llama", "bin/config.json").string(), hf("llama", "bin/pytorch_model.bin").string(),
                       "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto in = tensors(hf("llama", "bin/pytorch_model.bin"));
    auto cs = tensors(out / "pytorch_model_to_cs-2.3.mdl");
    for (const std::string layer : {"0", "1"}) {
        const std::string p = "transformer_decoder.layers." + layer + ".self_attn.";
        // 4 query heads and 2 key/value groups of head size 16.
        expect_interleaved(in.at("model.layers." + layer + ".self_attn.q_proj.weight"), cs.at(p + "proj_q_dense_layer.weight"), 4, "q");
        expect_interleaved(in.at("model.layers." + layer + ".self_attn.k_proj.weight"), cs.at(p + "proj_k_dense_layer.weight"), 2, "k");
        EXPECT_EQ(in.at("model.layers." + layer + ".self_attn.v_proj.weight").values,
                  cs.at(p + "proj_v_dense_layer.weight").values);
    }
    // The final norm is written twice; nothing else is added.
    EXPECT_EQ(cs.at("ln_f.weight").values, in.at("model.norm.weight").values);
    EXPECT_EQ(cs.at("transformer_decoder.norm.weight").values, in.at("model.norm.weight").values);
    EXPECT_EQ(cs.size(), in.size() + 1);
}

/// A one-layer MHA llama (hidden 8, 2 heads of 4) with biases, q/k norms and an inv_freq buffer.
struct Synthetic {
    TempDir dir;
    fs::path checkpoint, config;
    std::map<std::string, Tensor> tensors;

    explicit Synthetic(bool headless, bool tied = false, int64_t vocab = 6, bool with_lm_head = true)
    {
        const std::string m = headless ? "" : "model.";
        std::vector<std::pair<std::string, Tensor>> ts;
        float start = 1;
        auto add = [&](const std::string& name, std::vector<int64_t> shape) {
            ts.emplace_back(name, arange(std::move(shape), start));
            start += 1000;
        };
        add(m + "embed_tokens.weight", {vocab, 8});
        const std::string a = m + "layers.0.self_attn.";
        add(a + "q_proj.weight", {8, 8});
        add(a + "q_proj.bias", {8});
        add(a + "k_proj.weight", {8, 8});
        add(a + "k_proj.bias", {8});
        add(a + "v_proj.weight", {8, 8});
        add(a + "o_proj.weight", {8, 8});
        add(a + "q_norm.weight", {4});
        add(a + "k_norm.weight", {4});
        add(a + "rotary_emb.inv_freq", {2});
        add(m + "layers.0.input_layernorm.weight", {8});
        add(m + "layers.0.post_attention_layernorm.weight", {8});
        add(m + "layers.0.mlp.up_proj.weight", {16, 8});
        add(m + "layers.0.mlp.gate_proj.weight", {16, 8});
        add(m + "layers.0.mlp.down_proj.weight", {8, 16});
        add(m + "norm.weight", {8});
        if (!headless && with_lm_head)
            add("lm_head.weight", {vocab, 8});
        checkpoint = dir / "hf/model.safetensors";
        config = dir / "hf/config.json";
        fs::create_directories(dir / "hf");
        write_f32_safetensors(checkpoint, ts);
        for (auto& [k, v] : ts)
            tensors[k] = v;
        write_file(config, "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_attention_heads\": 2, "
                           "\"num_key_value_heads\": 2, \"num_hidden_layers\": 1, \"vocab_size\": " +
                               std::to_string(vocab) + ", \"tie_word_embeddings\": " + (tied ? "true" : "false") +
                               ", \"model_type\": \"llama\"}");
    }
};

TEST(LlamaRotary, MhaWithBiasesAndNormsRoundTrips)
{
    Synthetic s(false);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       s.config.string(), s.checkpoint.string(), "--output-dir", (s.dir / "cs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const fs::path mdl = s.dir / "cs/model_to_cs-2.3.mdl";
    auto cs = tensors(mdl);
    const std::string a = "transformer_decoder.layers.0.self_attn.";
    const std::string h = "model.layers.0.self_attn.";
    expect_interleaved(s.tensors.at(h + "q_proj.weight"), cs.at(a + "proj_q_dense_layer.weight"), 2, "q");
    expect_interleaved(s.tensors.at(h + "q_proj.bias"), cs.at(a + "proj_q_dense_layer.bias"), 2, "q bias");
    expect_interleaved(s.tensors.at(h + "k_proj.weight"), cs.at(a + "proj_k_dense_layer.weight"), 2, "k");
    expect_interleaved(s.tensors.at(h + "k_proj.bias"), cs.at(a + "proj_k_dense_layer.bias"), 2, "k bias");
    expect_interleaved(s.tensors.at(h + "q_norm.weight"), cs.at(a + "q_norm.weight"), 1, "q_norm");
    expect_interleaved(s.tensors.at(h + "k_norm.weight"), cs.at(a + "k_norm.weight"), 1, "k_norm");
    for (const auto& [name, t] : cs)
        EXPECT_EQ(name.find("inv_freq"), std::string::npos) << name;

    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (s.dir / "cs/config_to_cs-2.3.yaml").string(), mdl.string(), "--output-dir", (s.dir / "back").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto back = tensors(s.dir / "back/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    for (const auto& [name, t] : s.tensors) {
        if (name.find("inv_freq") != std::string::npos) {
            EXPECT_EQ(back.count(name), 0u) << "inv_freq is not regenerated";
            continue;
        }
        ASSERT_EQ(back.count(name), 1u) << name;
        EXPECT_EQ(back.at(name).values, t.values) << name;
    }
    EXPECT_EQ(back.size(), s.tensors.size() - 1);
}

TEST(LlamaHeadless, TiedHeadCopiesTheEmbedding)
{
    Synthetic s(true, true);
    RunResult r = cli({"convert", "--model", "llama-headless", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       s.config.string(), s.checkpoint.string(), "--output-dir", (s.dir / "cs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto cs = tensors(s.dir / "cs/model_to_cs-2.3.mdl");
    EXPECT_EQ(cs.at("lm_head.weight").values, s.tensors.at("embed_tokens.weight").values);
    EXPECT_EQ(cs.count("lm_head.bias"), 0u);

    // Back to HF the head is dropped and everything else round-trips.
    r = cli({"convert", "--model", "llama-headless", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (s.dir / "cs/config_to_cs-2.3.yaml").string(), (s.dir / "cs/model_to_cs-2.3.mdl").string(),
             "--output-dir", (s.dir / "back").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto back = tensors(s.dir / "back/model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    EXPECT_EQ(back.count("lm_head.weight"), 0u);
    EXPECT_EQ(back.at("embed_tokens.weight").values, s.tensors.at("embed_tokens.weight").values);
    EXPECT_EQ(back.size(), s.tensors.size() - 1); // minus inv_freq
    Node cfg = config(s.dir / "back/model_to_cs-2.3_to_hf/config.json");
    EXPECT_EQ(cfg.find("architectures")->items().at(0).as_string(), "LlamaModel");
}

TEST(LlamaHeadless, UntiedHeadIsDeterministicNormal)
{
    Synthetic s(true, false, 512);
    std::vector<float> first;
    for (const std::string model : {"llama-headless", "wizardlm-headless"}) {
        const fs::path out = s.dir / model;
        RunResult r = cli({"convert", "--model", model, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                           s.config.string(), s.checkpoint.string(), "--output-dir", out.string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        auto cs = tensors(out / "model_to_cs-2.3.mdl");
        const Tensor& head = cs.at("lm_head.weight");
        EXPECT_EQ(head.shape, (std::vector<int64_t>{512, 8}));
        if (first.empty()) {
            first = head.values;
            double sum = 0, sq = 0;
            for (float v : head.values) {
                sum += v;
                sq += double(v) * v;
            }
            const double n = double(head.values.size());
            const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
            EXPECT_NEAR(mean, 0.0, 0.003);
            EXPECT_NEAR(sd, 0.02, 0.002);
        } else {
            EXPECT_EQ(head.values, first) << "same bytes on every run";
        }
    }
}

TEST(LlamaConfig, RopeScalingRoundTrips)
{
    // cs-2.4 is the first release with pos_scaling_type (release_gate_test.cpp has the older ones).
    const std::vector<std::string> cases{
        R"({"type": "linear", "factor": 2.0})",
        R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})",
    };
    for (const auto& rope : cases) {
        TempDir dir;
        write_file(dir / "config.json", R"({"hidden_size": 64, "num_attention_heads": 4, "rope_scaling": )" + rope + "}");
        RunResult r = cli({"convert-config", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.4", "--config",
                           (dir / "config.json").string(), "--output-dir", dir.path().string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        Node cs = config(dir / "config_to_cs-2.4.yaml");
        const Node* model = cs.find("model");
        ASSERT_NE(model, nullptr);
        EXPECT_NE(model->find("pos_scaling_type"), nullptr);
        r = cli({"convert-config", "--model", "llama", "--src-fmt", "cs-2.4", "--tgt-fmt", "hf", "--config",
                 (dir / "config_to_cs-2.4.yaml").string(), "--output-dir", dir.path().string()});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        Node back = config(dir / "config_to_cs-2.4_to_hf.json");
        write_file(dir / "rope.json", rope);
        Node want = config(dir / "rope.json");
        const Node* got = back.find("rope_scaling");
        ASSERT_NE(got, nullptr);
        ASSERT_EQ(got->size(), want.size()) << read_file(dir / "config_to_cs-2.4_to_hf.json");
        for (size_t i = 0; i < want.size(); ++i) {
            const std::string k = Node::key_text(want.entries()[i].first);
            ASSERT_NE(got->find(k), nullptr) << k;
            EXPECT_TRUE(*got->find(k) == *want.find(k)) << k;
        }
    }
}

TEST(LlamaConfig, NameKeyFromCs24AndMixedPrecisionUpToCs23)
{
    for (const auto& [model, name] : std::vector<std::pair<std::string, std::string>>{
             {"llama", "llama"}, {"code-llama", "llama"}, {"llamaV2-headless", "llama"}, {"mistral", "mistral"}}) {
        TempDir dir;
        const std::string family = model == "mistral" ? "mistral" : "llama";
        for (const std::string tgt : {"cs-2.3", "cs-2.4", "cs-2.9"}) {
            RunResult r = cli({"convert-config", "--model", model, "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                               hf(family, "bin/config.json").string(), "--output-dir", dir.path().string()});
            ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
            Node cs = config(dir / ("config_to_" + tgt + ".yaml"));
            const Node* m = cs.find("model");
            ASSERT_NE(m, nullptr);
            if (tgt == "cs-2.3") {
                EXPECT_EQ(m->find("name"), nullptr);
                EXPECT_NE(m->find("mixed_precision"), nullptr);
            } else {
                ASSERT_NE(m->find("name"), nullptr) << model << " " << tgt;
                EXPECT_EQ(m->find("name")->as_string(), name);
                EXPECT_EQ(m->find("mixed_precision"), nullptr);
            }
        }
    }
}

TEST(LlamaMup, PostCs23FoldsIntoStandardParameters)
{
    TempDir dir;
    std::string yaml = read_file(ref("llama", "hf_to_cs/config_to_cs-2.3.yaml"));
    // w = 64 / 32 = 2; d_head = 16: k scaled by 1/4, lm_head by 1/2, embeddings by 2 (all exact).
    yaml += "    mup_base_hidden_size: 32\n    mup_base_filter_size: 64\n    embeddings_scale: 2.0\n";
    write_file(dir / "params.yaml", yaml);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                       (dir / "params.yaml").string(), ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(),
                       "--output-dir", dir.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto out = tensors(dir / "pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    auto in = tensors(hf("llama", "bin/pytorch_model.bin"));
    auto scaled = [&](const std::string& name, float f) {
        const auto& a = in.at(name).values;
        const auto& b = out.at(name).values;
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i)
            ASSERT_EQ(b[i], a[i] * f) << name << " " << i;
    };
    scaled("model.layers.0.self_attn.k_proj.weight", 0.25f);
    scaled("model.layers.1.self_attn.k_proj.weight", 0.25f);
    scaled("lm_head.weight", 0.5f);
    scaled("model.embed_tokens.weight", 2.0f);
    scaled("model.layers.0.self_attn.q_proj.weight", 1.0f);
    Node cfg = config(dir / "pytorch_model_to_cs-2.3_to_hf/config.json");
    EXPECT_EQ(cfg.find("mup_base_hidden_size"), nullptr);
    EXPECT_FALSE(cfg.find("tie_word_embeddings")->as_bool());
}

TEST(LlamaCsReleases, HfToCs20GoesThroughCs21)
{
    TempDir dir;
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-1.9", "--config",
                       hf("llama", "bin/config.json").string(), hf("llama", "bin/pytorch_model.bin").string(),
                       "--output-dir", dir.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Node cs = config(dir / "config_to_cs-1.9.yaml");
    const Node* m = cs.find("model");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->find("norm_type"), nullptr);
    ASSERT_NE(m->find("use_rms_norm"), nullptr);
    EXPECT_TRUE(m->find("use_rms_norm")->as_bool());
    EXPECT_TRUE(same_checkpoint(dir / "pytorch_model_to_cs-1.9.mdl", ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
}

TEST(LlamaTies, TiedLmHeadIsNotCreatedButRepairedForCs19)
{
    Synthetic s(false, true, 6, false);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       s.config.string(), s.checkpoint.string(), "--output-dir", (s.dir / "cs23").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // As the Model Zoo: CS ties at load time (share_embedding_weights: true), no lm_head written.
    EXPECT_EQ(tensors(s.dir / "cs23/model_to_cs-2.3.mdl").count("lm_head.weight"), 0u);

    // cs-2.0 -> cs-1.9 repairs the tie so that old releases find both tensors.
    r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-1.9", "--config", s.config.string(),
             s.checkpoint.string(), "--output-dir", (s.dir / "cs19").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto cs = tensors(s.dir / "cs19/model_to_cs-1.9.mdl");
    ASSERT_EQ(cs.count("lm_head.weight"), 1u);
    EXPECT_EQ(cs.at("lm_head.weight").values, s.tensors.at("model.embed_tokens.weight").values);
}

TEST(LlamaCheckpoint, LegacyModelPrefixIsAcceptedTowardsHf)
{
    TempDir dir;
    Checkpoint ck = open_checkpoint(ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    Node model = Node::map();
    for (const auto& nt : flat_tensors(*ck.root.find("model"), "reference"))
        model.set("model." + nt.name, Node(nt.tensor));
    Node root = Node::map();
    root.set("model", std::move(model));
    write_mdl(dir / "prefixed.mdl", root);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                       ref("llama", "hf_to_cs/config_to_cs-2.3.yaml").string(), (dir / "prefixed.mdl").string(),
                       "--output-dir", dir.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(same_checkpoint(dir / "prefixed_to_hf/pytorch_model.bin.index.json", hf("llama", "bin/pytorch_model.bin")));
}

TEST(LlamaCheckpoint, UnknownKeysFailUnlessDropped)
{
    Synthetic s(false);
    std::vector<std::pair<std::string, Tensor>> ts(s.tensors.begin(), s.tensors.end());
    ts.emplace_back("model.layers.0.self_attn.extra.weight", arange({2}, 0));
    write_f32_safetensors(s.checkpoint, ts);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       s.config.string(), s.checkpoint.string(), "--output-dir", (s.dir / "a").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Key not matched: model.layers.0.self_attn.extra.weight"), std::string::npos) << r.err;
    r = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--drop-unmatched-keys",
             "--config", s.config.string(), s.checkpoint.string(), "--output-dir", (s.dir / "b").string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(LlamaMup, PreCs23FoldsIntoStandardParameters)
{
    TempDir dir;
    std::string yaml = read_file(ref("llama", "hf_to_cs/config_to_cs-2.3.yaml"));
    yaml += "    scale_qk_dot_by_d: true\n    embeddings_scale: 4.0\n    output_logits_scale: 0.5\n";
    write_file(dir / "params.yaml", yaml);
    RunResult r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                       (dir / "params.yaml").string(), ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(),
                       "--output-dir", dir.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto out = tensors(dir / "pytorch_model_to_cs-2.3_to_hf/pytorch_model.bin.index.json");
    auto in = tensors(hf("llama", "bin/pytorch_model.bin"));
    for (const auto& [name, f] : std::vector<std::pair<std::string, float>>{
             {"model.layers.0.self_attn.k_proj.weight", 0.25f}, {"lm_head.weight", 0.5f},
             {"model.embed_tokens.weight", 4.0f}, {"model.layers.0.self_attn.v_proj.weight", 1.0f}}) {
        const auto& a = in.at(name).values;
        const auto& b = out.at(name).values;
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i)
            ASSERT_EQ(b[i], a[i] * f) << name << " " << i;
    }

    // Only some of the three pre-2.3 keys: refused, as the Model Zoo does.
    write_file(dir / "partial.yaml", read_file(ref("llama", "hf_to_cs/config_to_cs-2.3.yaml")) + "    embeddings_scale: 4.0\n");
    r = cli({"convert", "--model", "llama", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (dir / "partial.yaml").string(), ref("llama", "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(),
             "--output-dir", (dir / "p").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("muP config is incomplete"), std::string::npos) << r.err;
}

/// JSON string body of `s` (test_support's json_escape leaves control characters alone).
std::string json_text(const std::string& s)
{
    std::string out;
    for (char c : json_escape(s))
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
}

TEST(LlamaList, ModelsAliasesAndNotesAsTheModelZoo)
{
    const std::string cs = "cs-2.1, cs-2.2, cs-2.3, cs-2.4, cs-2.5, cs-2.6, cs-2.7, cs-2.8, cs-2.9";
    const std::string headless_note =
        "\nThe HF model doesn't contain a language model head while the CS one does. When converting to CS, the "
        "exported checkpoint will contain a language model head initialized to default random values. When "
        "converting to HF, the language model head will be dropped.";
    const std::string release_note = "GPT2LMHeadModel class (configured as Llama)";
    struct Row {
        std::string model, note;
        bool releases;
    };
    const std::vector<Row> rows{
        {"llama", "hf LlamaForCausalLM <-> " + cs + " GPT2LMHeadModel (configured as Llama)", true},
        {"llamaV2", "hf LlamaForCausalLM <-> " + cs + " GPT2LMHeadModel (configured as Llama)", true},
        {"code-llama", "hf LlamaForCausalLM <-> " + cs + " GPT2LMHeadModel (configured as Llama)", true},
        {"wizardlm", "hf LlamaForCausalLM <-> " + cs + " GPT2LMHeadModel (configured as Llama)", true},
        {"llama-headless", "hf LlamaModel <-> " + cs + " GPT2LMHeadModel (configured as Llama)" + headless_note, false},
        {"llamaV2-headless", "hf LlamaModel <-> " + cs + " GPT2LMHeadModel (configured as Llama)" + headless_note, false},
        {"code-llama-headless", "hf LlamaModel <-> " + cs + " GPT2LMHeadModel (configured as Llama)" + headless_note, false},
        {"wizardlm-headless", "hf LlamaModel <-> " + cs + " GPT2LMHeadModel (configured as Llama)" + headless_note, false},
        {"mistral", "hf MistralForCausalLM <-> " + cs + " GPT2LMHeadModel (configured as Mistral)", false},
        {"mistral-headless", "hf MistralModel <-> " + cs + " GPT2LMHeadModel (configured as Mistral)" + headless_note, false},
    };
    for (const auto& row : rows) {
        RunResult r = cli({"list", row.model, "--json"});
        ASSERT_EQ(r.exit_code, 0) << row.model << r.err;
        EXPECT_NE(r.out.find("\"note\": \"" + json_text(row.note) + "\""), std::string::npos) << row.model << r.out;
        EXPECT_EQ(r.out.find(json_escape(release_note)) != std::string::npos, row.releases) << row.model;
        EXPECT_EQ(r.out.find("[[\"cs-1.9\"], [\"cs-2.0\"]]") != std::string::npos, row.releases) << row.model;
    }
}

} // namespace
} // namespace ckpt::test::llama
