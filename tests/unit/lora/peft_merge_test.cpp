// SPDX-License-Identifier: Apache-2.0
// PEFT LoRA adapters generated here over the gpt2 and llama Hugging Face fixtures: `fold-lora
// --lora-adapter` against an independent float64 merge, `convert --lora-adapter` against converting
// the merged checkpoint, and the adapters that are refused.
#include "lora_test_util.hpp"

#include "checkpoint_support.hpp"
#include "formats/container.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "formats/torch/torch_writer.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>

namespace ckpt::test::lora {
namespace {

namespace fs = std::filesystem;

/// A module an adapter adapts: its factors in PEFT's key form and how the merge applies them.
struct AdaptedModule {
    std::string module;
    int64_t r = 0;
    double scale = 1.0;
    bool transposed = false; // Conv1D or embedding
    bool embedding = false;
};

/// Writes an adapter directory: adapter_config.json as given, and factors for `modules` (seeded
/// from `seed`) in adapter_model.safetensors, or adapter_model.bin when `bin`. Adds the factors
/// to `expected` by base weight name.
void write_adapter(const fs::path& dir, const std::string& config_json, const std::vector<NamedTensor>& base,
                   const std::vector<AdaptedModule>& modules, uint32_t seed, bool bin,
                   std::map<std::string, std::vector<Factor>>& expected)
{
    fs::create_directories(dir);
    write_text(dir / "adapter_config.json", config_json);
    std::vector<NamedTensor> tensors;
    for (const AdaptedModule& m : modules) {
        const std::string weight = m.module + ".weight";
        const TensorInfo* w = nullptr;
        for (const auto& t : base)
            if (t.name == weight)
                w = &t.tensor->info();
        ASSERT_NE(w, nullptr) << weight;
        const int64_t rows = w->shape[0], cols = w->shape[1];
        Factor f;
        f.a = seeded(DType::f32, {m.r, m.transposed ? rows : cols}, ++seed);
        f.b = seeded(DType::f32, {m.transposed ? cols : rows, m.r}, ++seed);
        f.scale = m.scale;
        f.transposed = m.transposed;
        const std::string key = "base_model.model." + m.module;
        tensors.push_back({key + (m.embedding ? ".lora_embedding_A" : ".lora_A.weight"), f.a});
        tensors.push_back({key + (m.embedding ? ".lora_embedding_B" : ".lora_B.weight"), f.b});
        expected[weight].push_back(f);
    }
    if (bin) {
        Node root = Node::map();
        for (const auto& t : tensors)
            root.append(Node(t.name), Node(t.tensor));
        write_torch(dir / "adapter_model.bin", root);
    } else {
        write_safetensors(dir / "adapter_model.safetensors", tensors, {{"format", "pt"}});
    }
}

std::vector<NamedTensor> base_of(const fs::path& file)
{
    Checkpoint ck = open_checkpoint(file);
    return flat_tensors(ck.root, file.string());
}

/// Every base tensor of `merged_file`: merged where `expected` has factors, unchanged elsewhere.
void expect_merged(const std::vector<NamedTensor>& base, const std::map<std::string, std::vector<Factor>>& expected,
                   const fs::path& merged_file, const std::map<std::string, std::string>& tied = {})
{
    const auto out = model_tensors(merged_file);
    for (const auto& b : base) {
        auto it = out.find(b.name);
        ASSERT_NE(it, out.end()) << b.name;
        const auto tie = tied.find(b.name);
        auto f = expected.find(tie != tied.end() ? tie->second : b.name);
        if (f == expected.end())
            EXPECT_TRUE(equal_bytes(*it->second, *b.tensor)) << b.name << " changed";
        else
            EXPECT_TRUE(within_one_ulp(*it->second, merged_reference(*b.tensor, f->second), b.name));
    }
}

const char* const kGpt2Adapter = R"({"peft_type": "LORA", "r": 4, "lora_alpha": 6, "fan_in_fan_out": true,
  "target_modules": ["c_attn", "c_proj", "wte"], "use_rslora": false, "use_dora": false})";

TEST(PeftMerge, Gpt2Conv1DAndTiedEmbedding)
{
    TempDir dir;
    const fs::path hf = data_path("hf/gpt2/bin");
    const auto base = base_of(hf / "pytorch_model.bin");
    std::map<std::string, std::vector<Factor>> expected;
    // GPT-2's projections are Conv1D (weight fan-in first): c_attn [64, 192] is told by its shape,
    // the square attn.c_proj by name; the embedding's factors are lora_embedding_A/B.
    std::vector<AdaptedModule> modules = {{"transformer.wte", 4, 1.5, true, true}};
    for (int l = 0; l < 2; ++l)
        for (const char* m : {"attn.c_attn", "attn.c_proj", "mlp.c_proj"})
            modules.push_back({fmt::format("transformer.h.{}.{}", l, m), 4, 1.5, true, false});
    write_adapter(dir / "adapter", kGpt2Adapter, base, modules, 1, false, expected);

    RunResult r = cli({"fold-lora", "-p", (hf / "config.json").string(), "--checkpoint_path",
                       (hf / "pytorch_model.bin").string(), "--lora-adapter", (dir / "adapter").string(),
                       "--output-dir", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path merged = dir / "out/pytorch_model_folded";
    EXPECT_TRUE(fs::exists(merged / "config.json"));
    // lm_head shares wte's storage, so merging in place (as PEFT does) changes it too.
    expect_merged(base, expected, merged / "pytorch_model.bin", {{"lm_head.weight", "transformer.wte.weight"}});
}

TEST(PeftMerge, LlamaTwoAdaptersWithPatternsAndRsLora)
{
    TempDir dir;
    const fs::path hf = data_path("hf/llama/safetensors");
    const auto base = base_of(hf / "model.safetensors");
    std::map<std::string, std::vector<Factor>> expected;
    // Adapter 1: q_proj and v_proj at r 4, alpha 8; v_proj at rank 2 (scale 4), layer 1's q_proj
    // with alpha 16 (scale 4). Adapter 2 (a .bin): rsLoRA, alpha 4 / sqrt(4) = 2, on q_proj
    // again (summed with adapter 1's) and o_proj.
    std::vector<AdaptedModule> first, second;
    for (int l = 0; l < 2; ++l) {
        const std::string p = fmt::format("model.layers.{}.self_attn.", l);
        first.push_back({p + "q_proj", 4, l == 1 ? 4.0 : 2.0});
        first.push_back({p + "v_proj", 2, 4.0});
        second.push_back({p + "q_proj", 4, 2.0});
        second.push_back({p + "o_proj", 4, 2.0});
    }
    write_adapter(dir / "a1",
                  R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
                      "rank_pattern": {"v_proj": 2}, "alpha_pattern": {"layers.1.self_attn.q_proj": 16}})",
                  base, first, 10, false, expected);
    write_adapter(dir / "a2",
                  R"({"peft_type": "LORA", "r": 4, "lora_alpha": 4, "use_rslora": true,
                      "target_modules": "model\\.layers\\.\\d+\\.self_attn\\.(q|o)_proj"})",
                  base, second, 20, true, expected);

    RunResult r = cli({"fold-lora", "-p", (hf / "config.json").string(), (hf / "model.safetensors").string(),
                       "--lora-adapter", (dir / "a1").string(), "--lora-adapter", (dir / "a2").string(),
                       "--output-dir", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_merged(base, expected, dir / "out/model_folded/model.safetensors");

    // convert --lora-adapter gives what converting the merged checkpoint gives.
    RunResult c1 = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                        (hf / "config.json").string(), (hf / "model.safetensors").string(), "--lora-adapter",
                        (dir / "a1").string(), "--lora-adapter", (dir / "a2").string(), "--output-dir",
                        (dir / "c1").string()});
    ASSERT_EQ(c1.exit_code, 0) << c1.err;
    RunResult c2 = cli({"convert", "--model", "llama", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                        (hf / "config.json").string(), (dir / "out/model_folded/model.safetensors").string(),
                        "--output-dir", (dir / "c2").string()});
    ASSERT_EQ(c2.exit_code, 0) << c2.err;
    EXPECT_EQ(compare(model_tensors(dir / "c1/model_to_cs-2.3.mdl"), model_tensors(dir / "c2/model_to_cs-2.3.mdl")),
              "");
    // And the base alone converts to something else: the adapters did reach the output.
    EXPECT_NE(compare(model_tensors(dir / "c1/model_to_cs-2.3.mdl"),
                      model_tensors(data_path("cs-ref/llama/hf_to_cs/pytorch_model_to_cs-2.3.mdl"))),
              "");
}

/// Runs fold-lora on the llama fixture with one adapter and expects exit 4 with `message`.
void expect_refused(const fs::path& adapter, const std::string& message)
{
    const fs::path hf = data_path("hf/llama/safetensors");
    const fs::path out = adapter.parent_path() / "out";
    RunResult r = cli({"fold-lora", "-p", (hf / "config.json").string(), (hf / "model.safetensors").string(),
                       "--lora-adapter", adapter.string(), "--output-dir", out.string()});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out / "model_folded"));
}

TEST(PeftMerge, RefusesAdaptersItCannotMergeExactly)
{
    const auto base = base_of(data_path("hf/llama/safetensors/model.safetensors"));
    const std::string q = "model.layers.0.self_attn.q_proj";
    std::map<std::string, std::vector<Factor>> unused;
    TempDir dir;
    write_adapter(dir / "dora", R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": true})", base,
                  {{q, 4, 2.0}}, 1, false, unused);
    expect_refused(dir / "dora", "use_dora is true; DoRA adapters");
    write_adapter(dir / "ia3", R"({"peft_type": "IA3"})", base, {{q, 4, 2.0}}, 1, false, unused);
    expect_refused(dir / "ia3", "peft_type is 'IA3'; only LoRA adapters");
    write_adapter(dir / "rank0", R"({"peft_type": "LORA", "r": 0, "lora_alpha": 8})", base, {{q, 4, 2.0}}, 1, false,
                  unused);
    expect_refused(dir / "rank0", "base_model.model." + q + ".lora_A.weight: LoRA rank 0");
    write_adapter(dir / "rank", R"({"peft_type": "LORA", "r": 8, "lora_alpha": 8})", base, {{q, 4, 2.0}}, 1, false,
                  unused);
    expect_refused(dir / "rank", "has rank 4, but adapter_config.json gives " + q + " rank 8");

    // A module the base does not have, factors of the wrong shape (k_proj is [32, 64]), and a key
    // that is no LoRA factor (a DoRA magnitude saved without use_dora).
    auto write_raw = [&](const std::string& name, const std::vector<NamedTensor>& tensors) {
        fs::create_directories(dir / name);
        write_text(dir / name / "adapter_config.json", R"({"peft_type": "LORA", "r": 2, "lora_alpha": 2})");
        write_safetensors(dir / name / "adapter_model.safetensors", tensors, {});
    };
    const std::string p7 = "base_model.model.model.layers.7.self_attn.q_proj";
    const std::string k0 = "base_model.model.model.layers.0.self_attn.k_proj";
    write_raw("missing", {{p7 + ".lora_A.weight", seeded(DType::f32, {2, 64}, 1)},
                          {p7 + ".lora_B.weight", seeded(DType::f32, {64, 2}, 2)}});
    expect_refused(dir / "missing", "the base checkpoint has no model.layers.7.self_attn.q_proj.weight");
    write_raw("shape", {{k0 + ".lora_A.weight", seeded(DType::f32, {2, 64}, 1)},
                        {k0 + ".lora_B.weight", seeded(DType::f32, {64, 2}, 2)}});
    expect_refused(dir / "shape", "model.layers.0.self_attn.k_proj.weight: the LoRA factors");
    write_raw("key", {{"base_model.model." + q + ".lora_magnitude_vector", seeded(DType::f32, {64}, 1)}});
    expect_refused(dir / "key", "base_model.model." + q + ".lora_magnitude_vector is not a LoRA factor");
}

} // namespace
} // namespace ckpt::test::lora
