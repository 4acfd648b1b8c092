// SPDX-License-Identifier: Apache-2.0
// What is StarCoder's own, through the real CLI: multi-head `c_attn` (per-head q, k, v), the
// config refusals in the Model Zoo's words, the registry name of every alias per release, and
// `list`. The fixtures against the Model Zoo's references are conformance rows.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

const char* const kHfConfig = "hf/starcoder/bin/config.json";
const char* const kCsConfig = "cs-ref/starcoder/hf_to_cs/config_to_cs-2.3.yaml";

TEST(StarcoderConfig, RefusalsUseTheModelZooWording)
{
    const std::string hf = read_file(data_path(kHfConfig));
    const std::string cs = read_file(data_path(kCsConfig));
    expect_config_refused("starcoder", "hf", with_json_key(hf, "model_type", "\"gpt2\""),
                          "Can't convert config with model_type=gpt2. Only gpt_bigcode is supported.");
    expect_config_refused("starcoder", "cs-2.3", with_yaml_key(cs, "attention_type", "flash"),
                          "Can't convert config with attention_type=flash. Only scaled_dot_product and dot_product is "
                          "supported.");
    expect_config_refused("starcoder", "cs-2.3", with_yaml_key(cs, "scale_qk_dot_by_layer_idx", "true"),
                          "Can't convert config with scale_qk_dot_by_layer_idx=True. Only False is supported.");
    expect_config_refused("starcoder", "cs-2.3", with_yaml_key(cs, "position_embedding_type", "rotary"),
                          "Can't convert config with position_embedding_type=rotary. Only learned is supported.");
    expect_config_refused("octocoder", "cs-2.3", with_yaml_key(cs, "use_bias_in_output", "true"),
                          "Can't convert config with use_bias_in_output=True. Only False is supported.");
    expect_config_refused("starcoder-headless", "cs-2.3", with_yaml_key(cs, "norm_type", "rmsnorm"),
                          "Can't convert config with norm_type=rmsnorm. Only layernorm is supported.");
}

TEST(StarcoderConfig, MultiQueryFollowsTheAttentionModule)
{
    const std::string hf = read_file(data_path(kHfConfig));
    ConfigOutcome o = convert_config_text("starcoder", "hf", with_json_key(hf, "multi_query", "false"));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("attention_module: aiayn_attention"), std::string::npos) << o.output;
    EXPECT_EQ(o.output.find("extra_attention_params"), std::string::npos) << o.output;
    const std::string cs = read_file(data_path(kCsConfig));
    o = convert_config_text("starcoder", "cs-2.3", with_yaml_key(cs, "attention_module", "aiayn_attention"));
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(o.output.find("\"multi_query\": false"), std::string::npos) << o.output;
}

/// Every StarCoder name writes `name: starcoder` from cs-2.4 on (D25), none before.
TEST(StarcoderConfig, RegistryNameOfEveryAliasFromCs24)
{
    for (const char* model : {"starcoder", "octocoder", "wizardcoder", "sqlcoder", "starcoder-headless",
                              "octocoder-headless", "wizardcoder-headless", "sqlcoder-headless"}) {
        for (const char* tgt : {"cs-2.3", "cs-2.4", "cs-2.9"}) {
            TempDir out;
            RunResult r = convert_config(model, "hf", tgt, data_path(kHfConfig), out.path());
            ASSERT_EQ(r.exit_code, 0) << model << " " << tgt << "\n" << r.err;
            const std::string yaml = read_file(only_file(out.path(), ".yaml"));
            const bool named = std::string(tgt) != "cs-2.3";
            EXPECT_EQ(yaml.find("name: starcoder") != std::string::npos, named) << model << " " << tgt << "\n" << yaml;
        }
    }
}

/// Multi-head `c_attn` (`multi_query: false`): `[3d, d]` rows per head [q_h | k_h | v_h]. Made from
/// the fixture with every c_attn replaced by distinct values of that shape.
TEST(StarcoderMultiHead, SplitsPerHeadAndRoundTrips)
{
    TempDir in, out;
    std::vector<std::pair<std::string, Tensor>> fused;
    for (const auto& [name, t] : tensors(hf("starcoder", "bin/pytorch_model.bin"))) {
        if (name.find("c_attn.weight") != std::string::npos)
            fused.push_back({name, arange({192, 64}, name.find(".h.1.") != std::string::npos ? 1e5f : 0.0f)});
        else if (name.find("c_attn.bias") != std::string::npos)
            fused.push_back({name, arange({192}, 0.5f)});
        else
            fused.push_back({name, t});
    }
    write_f32_safetensors(in / "model.safetensors", fused);
    write_file(in / "config.json", with_json_key(read_file(data_path(kHfConfig)), "multi_query", "false"));
    RunResult r = convert("starcoder", "hf", "cs-2.3", in / "config.json", in / "model.safetensors", out / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = tensors(out / "cs/model_to_cs-2.3.mdl");
    const std::string attn = "transformer_decoder.layers.0.self_attn.";
    const Tensor& k = cs.at(attn + "proj_k_dense_layer.weight");
    ASSERT_EQ(k.shape, (std::vector<int64_t>{64, 64}));
    // Head 2's k rows are fused rows 2 * 48 + 16 ... + 31; row 3 of that head, column 5:
    EXPECT_EQ(k.values[(2 * 16 + 3) * 64 + 5], float((2 * 48 + 16 + 3) * 64 + 5));
    EXPECT_EQ(cs.at(attn + "proj_v_dense_layer.bias").values[16 + 1], 0.5f + float(48 + 32 + 1));
    r = convert("starcoder", "cs-2.3", "hf", out / "cs/config_to_cs-2.3.yaml", out / "cs/model_to_cs-2.3.mdl",
                out / "hf", {"--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(compare(model_tensors(out / "hf/model_to_cs-2.3_to_hf/model.safetensors.index.json"),
                      model_tensors(in / "model.safetensors")),
              "");
}

/// A headless checkpoint's CS head: the word embedding when tie_word_embeddings is unset (the HF
/// pre-default says tied, and the Model Zoo reads the flag after inserting it), a fixed-seed
/// stand-in when it is false.
TEST(StarcoderHeadless, TheHeadIsTiedUnlessTheConfigSaysOtherwise)
{
    const fs::path ckpt = data_path("cs-ref/starcoder/input_headless/pytorch_model.bin");
    const std::string json = read_file(data_path("cs-ref/starcoder/input_headless/config.json"));
    ASSERT_EQ(json.find("tie_word_embeddings"), std::string::npos);
    for (const bool untied : {false, true}) {
        TempDir in, out;
        write_file(in / "config.json", untied ? with_json_key(json, "tie_word_embeddings", "false") : json);
        RunResult r = convert("starcoder-headless", "hf", "cs-2.3", in / "config.json", ckpt, out.path());
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const auto cs = tensors(only_file(out.path(), ".mdl"));
        const bool same = cs.at("lm_head.weight").values == cs.at("embedding_layer.word_embeddings.weight").values;
        EXPECT_EQ(same, !untied) << "tie_word_embeddings " << (untied ? "false" : "unset");
        EXPECT_EQ(read_file(only_file(out.path(), ".yaml")).find("share_embedding_weights: false") != std::string::npos,
                  untied);
    }
}

/// muP is folded on the way to HF (the Model Zoo's supports_mup_conversion): k by
/// attention_logits_alpha / sqrt(head_dim) = 2 / 4, the embeddings by embeddings_scale, the head by
/// output_logits_alpha / (hidden_size / mup_base_hidden_size) = 1 / 2; the muP keys are gone.
TEST(StarcoderMup, FoldsIntoTheHfTensors)
{
    TempDir in, out;
    std::string yaml = read_file(data_path(kCsConfig));
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"mup_base_hidden_size", "32"}, {"attention_logits_alpha", "2.0"}, {"embeddings_scale", "4.0"}})
        yaml = with_yaml_key(yaml, k, v);
    write_file(in / "config.yaml", yaml);
    const fs::path mdl = data_path("cs-ref/starcoder/hf_to_cs/pytorch_model_to_cs-2.3.mdl");
    RunResult r = convert("starcoder", "cs-2.3", "hf", in / "config.yaml", mdl, out.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = tensors(mdl);
    const auto hf = tensors(only_file(out.path(), ".index.json"));
    const Tensor& k = cs.at("transformer_decoder.layers.1.self_attn.proj_k_dense_layer.weight");
    const Tensor& q = cs.at("transformer_decoder.layers.1.self_attn.proj_q_dense_layer.weight");
    const Tensor& fused = hf.at("transformer.h.1.attn.c_attn.weight"); // [q: 64 | k: 16 | v: 16, 64]
    ASSERT_EQ(fused.shape, (std::vector<int64_t>{96, 64}));
    for (size_t i = 0; i < k.values.size(); ++i)
        ASSERT_EQ(fused.values[64 * 64 + i], 0.5f * k.values[i]) << i;
    for (size_t i = 0; i < q.values.size(); ++i)
        ASSERT_EQ(fused.values[i], q.values[i]) << i;
    const Tensor& wte = cs.at("embedding_layer.word_embeddings.weight");
    const Tensor& head = cs.at("lm_head.weight");
    for (size_t i = 0; i < wte.values.size(); ++i) {
        ASSERT_EQ(hf.at("transformer.wte.weight").values[i], 4.0f * wte.values[i]) << i;
        ASSERT_EQ(hf.at("lm_head.weight").values[i], 0.5f * head.values[i]) << i;
    }
    const std::string json = read_file(only_file(out.path(), "config.json"));
    EXPECT_EQ(json.find("mup"), std::string::npos) << json;
    EXPECT_NE(json.find("\"tie_word_embeddings\": false"), std::string::npos) << json;
}

TEST(StarcoderList, ShowsEveryNameWithTheModelZooNotes)
{
    RunResult r = run_bundled({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"starcoder", "starcoder-headless", "octocoder", "octocoder-headless", "wizardcoder",
                             "wizardcoder-headless", "sqlcoder", "sqlcoder-headless"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
    r = run_bundled({"list", "sqlcoder", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("GPTBigCodeForCausalLM"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GPT2ForCausalLM (configured as Starcoder)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GPT2LMHeadModel class (configured as Starcoder)"), std::string::npos) << r.out;
}

} // namespace
} // namespace ckpt::test
