// SPDX-License-Identifier: Apache-2.0
// What the decoder families on the SDK helper do beyond the conformance rows (which compare them
// with the Model Zoo's references and round-trip them): the headless forms, newer targets, the
// release steps down to the oldest release, and the config refusals with the Model Zoo's wording.
#include "checkpoint_support.hpp"
#include "config/config_file.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>

namespace ckpt::test {
namespace {

namespace fs = std::filesystem;

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

fs::path hf(const std::string& fixture, const std::string& rel) { return data_path("hf/" + fixture + "/" + rel); }
fs::path ref(const std::string& fixture, const std::string& rel) { return data_path("cs-ref/" + fixture + "/" + rel); }

/// The model tensors of `a` and `b` are the same, bit for bit.
::testing::AssertionResult same_tensors(const fs::path& a, const fs::path& b)
{
    const std::string d = compare(model_tensors(a), model_tensors(b));
    if (d.empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << a << " vs " << b << ":\n" << d;
}

struct Family {
    const char* model;   // --model
    const char* fixture; // tests/data/hf/<fixture>, tests/data/cs-ref/<fixture>
    const char* oldest;  // the oldest CS release the Model Zoo converts the model to
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.model; }

class DecoderFamily : public ::testing::TestWithParam<Family> {};

/// CS -> headless HF drops the head; headless HF -> CS gives every other tensor back and a new
/// head of the embedding's shape (with the zero bias the CS config asks for).
TEST_P(DecoderFamily, HeadlessFormDropsAndRecreatesTheHead)
{
    const Family& f = GetParam();
    const std::string headless = std::string(f.model) + "-headless";
    TempDir out;
    RunResult r = cli({"convert", "--model", headless, "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                       ref(f.fixture, "hf_to_cs/config_to_cs-2.3.yaml").string(),
                       ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir",
                       (out / "hf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const fs::path dir = out / "hf/pytorch_model_to_cs-2.3_to_hf";
    const auto hf_tensors = model_tensors(dir / "pytorch_model.bin.index.json");
    for (const auto& [name, t] : hf_tensors)
        EXPECT_EQ(name.find("lm_head"), std::string::npos) << name;
    r = cli({"convert", "--model", headless, "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
             (dir / "config.json").string(), (dir / "pytorch_model.bin.index.json").string(), "--output-dir",
             (out / "cs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("Initializing lm_head to default."), std::string::npos);
    fs::path mdl;
    for (const auto& e : fs::directory_iterator(out / "cs"))
        if (e.path().extension() == ".mdl")
            mdl = e.path();
    auto ours = model_tensors(mdl);
    auto theirs = model_tensors(ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    ASSERT_TRUE(ours.count("lm_head.weight"));
    EXPECT_EQ(ours.at("lm_head.weight")->info().shape, theirs.at("lm_head.weight")->info().shape);
    EXPECT_EQ(ours.count("lm_head.bias"), theirs.count("lm_head.bias"));
    if (ours.count("lm_head.bias")) {
        for (std::byte b : read_all(*ours.at("lm_head.bias"))) {
            ASSERT_EQ(b, std::byte{0});
        }
    }
    for (auto* m : {&ours, &theirs}) {
        m->erase("lm_head.weight");
        m->erase("lm_head.bias");
    }
    EXPECT_EQ(compare(ours, theirs), "");
}

/// cs-2.4+ configs name the registry model; the CS -> CS steps down to cs-1.9 and back are lossless.
TEST_P(DecoderFamily, NewerTargetsAndReleaseSteps)
{
    const Family& f = GetParam();
    TempDir out;
    RunResult r = cli({"convert", "--model", f.model, "--src-fmt", "hf", "--tgt-fmt", "cs-2.9", "--config",
                       hf(f.fixture, "bin/config.json").string(), hf(f.fixture, "bin/pytorch_model.bin").string(),
                       "--output-dir", (out / "cs29").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(same_tensors(out / "cs29/pytorch_model_to_cs-2.9.mdl", ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
    const std::string yaml = read_file(out / "cs29/config_to_cs-2.9.yaml");
    EXPECT_EQ(yaml.find("mixed_precision"), std::string::npos) << yaml;
    const std::string oldest = f.oldest;
    r = cli({"convert", "--model", f.model, "--src-fmt", "cs-2.3", "--tgt-fmt", oldest, "--config",
             ref(f.fixture, "hf_to_cs/config_to_cs-2.3.yaml").string(),
             ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl").string(), "--output-dir", (out / "down").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const fs::path down_cfg = out / ("down/config_to_cs-2.3_to_" + oldest + ".yaml");
    const fs::path down_ck = out / ("down/pytorch_model_to_cs-2.3_to_" + oldest + ".mdl");
    EXPECT_TRUE(same_tensors(down_ck, ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
    r = cli({"convert", "--model", f.model, "--src-fmt", oldest, "--tgt-fmt", "cs-2.3", "--config", down_cfg.string(),
             down_ck.string(), "--output-dir", (out / "up").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(same_tensors(out / ("up/pytorch_model_to_cs-2.3_to_" + oldest + "_to_cs-2.3.mdl"),
                             ref(f.fixture, "hf_to_cs/pytorch_model_to_cs-2.3.mdl")));
    // Below the oldest release there is no converter.
    r = cli({"convert", "--model", f.model, "--src-fmt", oldest, "--tgt-fmt", "cs-1.7", "--config", down_cfg.string(),
             down_ck.string(), "--output-dir", (out / "older").string()});
    EXPECT_NE(r.exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Families, DecoderFamily,
                         ::testing::Values(Family{"gptj", "gptj", "cs-1.9"},
                                           Family{"gpt-neox", "gpt_neox", "cs-1.9"},
                                           Family{"codegen", "codegen", "cs-1.9"},
                                           Family{"falcon", "falcon", "cs-2.0"}),
                         [](const ::testing::TestParamInfo<Family>& p) {
                             std::string name = p.param.model;
                             for (char& c : name)
                                 c = c == '-' ? '_' : c;
                             return name;
                         });

/// Converts `cfg` (written to a file with suffix `ext`) with convert-config; the result.
RunResult convert_config(const std::string& model, const std::string& src, const std::string& tgt,
                         const std::string& ext, const std::string& cfg)
{
    TempDir in;
    const fs::path p = in / ("config" + ext);
    write_file(p, cfg);
    TempDir out;
    return cli({"convert-config", "--model", model, "--src-fmt", src, "--tgt-fmt", tgt, "--config", p.string(),
                "--output-dir", out.path().string()});
}

/// The reference CS YAML of `fixture` with `line` ("key: value") in its model section, in place
/// of the reference's own line for the key.
std::string cs_yaml_with(const std::string& fixture, const std::string& line)
{
    std::string yaml = read_file(ref(fixture, "hf_to_cs/config_to_cs-2.3.yaml"));
    const size_t at = yaml.find("\n    " + line.substr(0, line.find(':') + 1));
    if (at != std::string::npos)
        yaml.erase(at, yaml.find('\n', at + 1) - at);
    return yaml + "    " + line + "\n";
}

/// The HF config.json of `fixture` (one key per line; a `fixture` ending in .json names the file
/// under tests/data/hf) with `"key": value` in front, in place of the fixture's own line for the key.
std::string hf_json_with(const std::string& fixture, const std::string& key, const std::string& value)
{
    const bool file = fixture.size() > 5 && fixture.compare(fixture.size() - 5, 5, ".json") == 0;
    std::string json = read_file(file ? data_path("hf/" + fixture) : hf(fixture, "bin/config.json"));
    const size_t at = json.find("\n  \"" + key + "\": ");
    if (at != std::string::npos)
        json.erase(at, json.find('\n', at + 1) - at);
    return "{\n  \"" + key + "\": " + value + "," + json.substr(json.find('{') + 1);
}

void expect_refusal(const RunResult& r, const std::string& message)
{
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
}

/// A config the Model Zoo refuses: the fixture's HF config.json or reference CS YAML with `key`
/// set to `value` (JSON or YAML text), converted `src` -> `tgt`, fails with `message`.
struct Refusal {
    const char* model;
    const char* fixture; // tests/data/{hf,cs-ref}/<fixture>, or an HF config.json under tests/data/hf
    const char* src;
    const char* tgt;
    const char* key;
    const char* value;
    const char* message;
};

// clang-format off
const Refusal kRefusals[] = {
    {"gptj", "gptj", "cs-2.3", "hf", "position_embedding_type", "learned",
     "CS GPT-J must use rotary embeddings, but got position_embedding_type=learned"},
    {"gptj", "gptj", "hf", "cs-2.3", "rotary", "false",
     "HF GPT-J must use rotary embeddings, but got rotary=False"},
    {"gptj", "gptj", "hf", "cs-2.3", "scale_attn_weights", "false",
     "Can't convert config with scale_attn_weights=False. Only True is supported."},
    {"gptj", "gptj", "cs-2.3", "hf", "norm_type", "rmsnorm",
     "Can't convert config with norm_type=rmsnorm. Only layernorm is supported."},
    {"gptj", "gptj", "cs-2.3", "hf", "use_untied_layer_norm", "true",
     "Can't convert config with use_untied_layer_norm=True. Only False is supported."},
    {"gptj", "gptj", "cs-2.2", "hf", "mup_base_hidden_size", "32",
     "This model currently does not support muP checkpoint conversion to HF."},
    {"gpt-neox", "gpt_neox", "hf", "cs-2.3", "use_parallel_residual", "false",
     "Can't convert config with use_parallel_residual=False. Only True is supported."},
    {"gpt-neox", "gpt_neox", "hf", "cs-2.3", "rotary_emb_base", "20000",
     "Can't convert config with rotary_emb_base=20000. Only 10000 is supported."},
    {"gpt-neox", "gpt_neox", "hf", "cs-2.3", "rope_scaling", R"({"type": "dynamic", "factor": 2.0})",
     "Only `rope_scaling` type `linear`, `yarn` or 'longrope' is currently supported, but got type `dynamic`."},
    {"gpt-neox", "gpt_neox", "cs-2.3", "hf", "position_embedding_type", "alibi",
     "Can't convert config with position_embedding_type=alibi. Only rotary is supported."},
    {"gpt-neox", "gpt_neox", "hf", "cs-2.3", "rope_scaling", R"({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32})",
     "Can't convert config with pos_scaling_type=yarn to cs-2.3: the Model Zoo knows pos_scaling_type from cs-2.4 "
     "(Release_2.4.0) on."},
    {"falcon", "falcon", "hf", "cs-2.2", "rope_scaling", R"({"type": "longrope", "factor": 4.0})",
     "Can't convert config with pos_scaling_type=longrope to cs-2.2: the Model Zoo knows pos_scaling_type from cs-2.4"},
    {"gpt-neox", "gpt_neox", "cs-2.3", "hf", "mup_base_hidden_size", "32",
     "This model currently does not support muP checkpoint conversion to HF."},
    {"codegen", "codegen", "hf", "cs-2.3", "n_head", "2",
     "HF Model doesn't support n_head < 4 because of hardcoded TPU constraint"},
    {"codegen", "codegen", "cs-2.3", "hf", "use_bias_in_output", "false",
     "Can't convert config with use_bias_in_output=False. Only True is supported."},
    {"codegen", "codegen", "cs-2.3", "hf", "position_embedding_type", "learned",
     "Can't convert config with position_embedding_type=learned. Only rotary is supported."},
    {"codegen", "codegen", "hf", "cs-2.3", "model_type", "\"gptj\"",
     "Can't convert config with model_type=gptj. Only codegen is supported."},
    {"falcon", "falcon", "hf", "cs-2.3", "alibi", "true",
     "CS model doesn't support falcon with position_embedding_type = alibi"},
    {"falcon", "falcon", "hf", "cs-2.3", "parallel_attn", "false",
     "HF config must have either new_decoder_architecture or parallel_attn as True"},
    {"falcon", "falcon", "cs-2.3", "hf", "position_embedding_type", "alibi",
     "HF model doesn't support falcon with position_embedding_type = alibi"},
    {"falcon", "falcon", "cs-2.3", "hf", "filter_size", "128",
     "HF model only supports filter_size = 4 * hidden_size"},
    {"falcon", "falcon", "cs-2.3", "hf", "use_ffn_bias", "true",
     "All of the following CS parameters must be set the same in order to convert to HF"},
    // The RefinedWeb codebases (ConfigConverter_Falcon_7B_HF_CS19, ConfigConverter_Falcon_40B_HF_CS20);
    // a 7B config with sequential attention and a n_head_kv that does not divide n_head are refused
    // by ckptconv alone (docs/decisions.md).
    {"falcon", "falcon/refinedweb-7b/config.json", "hf", "cs-2.3", "alibi", "true",
     "CS model doesn't support falcon with position_embedding_type = alibi"},
    {"falcon", "falcon/refinedweb-7b/config.json", "hf", "cs-2.3", "bias", "true",
     "Can't convert config with bias=True. Only False is supported."},
    {"falcon", "falcon/refinedweb-7b/config.json", "hf", "cs-2.3", "multi_query", "false",
     "We only support multi_query falcon for now"},
    {"falcon", "falcon/refinedweb-7b/config.json", "hf", "cs-2.3", "parallel_attn", "false",
     "parallel attention has to be enabled for falcon-7B"},
    {"falcon", "falcon/refinedweb-7b/config.json", "hf", "cs-2.3", "model_type", "\"RefinedWeb\"",
     "Can't convert config with model_type=RefinedWeb. Only RefinedWebModel is supported."},
    {"falcon", "falcon/refinedweb-40b/config.json", "hf", "cs-2.3", "model_type", "\"RefinedWebModel\"",
     "Can't convert config with model_type=RefinedWebModel. Only RefinedWeb is supported."},
    {"falcon", "falcon/refinedweb-40b/config.json", "hf", "cs-2.9", "parallel_attn", "false",
     "parallel attention has to be enabled for falcon-40B"},
    {"falcon", "falcon/refinedweb-40b/config.json", "hf", "cs-2.3", "alibi", "true",
     "CS model doesn't support falcon with position_embedding_type = alibi"},
    {"falcon", "falcon/refinedweb-40b/config.json", "hf", "cs-2.3", "bias", "true",
     "Can't convert config with bias=True. Only False is supported."},
    {"falcon", "falcon/refinedweb-40b/config.json", "hf", "cs-2.3", "n_head_kv", "3",
     "n_head (4) must be a multiple of n_head_kv (3)"},
    {"falcon", "falcon", "cs-2.3", "hf", "mup_base_hidden_size", "32",
     "This model currently does not support muP checkpoint conversion to HF."},
};
// clang-format on

TEST(DecoderConfig, RefusalsUseTheModelZooWording)
{
    for (const Refusal& row : kRefusals) {
        const bool from_hf = std::string(row.src) == "hf";
        const std::string text = from_hf ? hf_json_with(row.fixture, row.key, row.value)
                                         : cs_yaml_with(row.fixture, std::string(row.key) + ": " + row.value);
        SCOPED_TRACE(std::string(row.model) + " " + row.key + "=" + row.value);
        expect_refusal(convert_config(row.model, row.src, row.tgt, from_hf ? ".json" : ".yaml", text), row.message);
    }
}

TEST(GptjConfig, MupFoldsFromCs23On)
{
    // Converter_GPTJ_*_HF_CS23 folds muP; the cs-2.0 ... 2.2 converters refuse it (a table row above).
    RunResult r = convert_config("gptj", "cs-2.3", "hf", ".yaml", cs_yaml_with("gptj", "mup_base_hidden_size: 32"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}


TEST(GptNeoxConfig, CsPreDefaultsContradictTheTable)
{
    // The CS pre-defaults contradict the table (embedding_dropout_rate 0.1 must be 0.0), as in the Model Zoo.
    std::string yaml = read_file(ref("gpt_neox", "hf_to_cs/config_to_cs-2.3.yaml"));
    yaml.erase(yaml.find("    embedding_dropout_rate: 0.0\n"), std::string("    embedding_dropout_rate: 0.0\n").size());
    expect_refusal(convert_config("gpt-neox", "cs-2.3", "hf", ".yaml", yaml),
                   "Can't convert config with embedding_dropout_rate=0.1. Only 0.0 is supported.");
}

TEST(GptNeoxConfig, LinearRopeScalingForCs23HasNoTypeKey)
{
    TempDir in, out;
    write_file(in / "config.json", hf_json_with("gpt_neox", "rope_scaling", R"({"type": "linear", "factor": 2.0})"));
    RunResult r = cli({"convert-config", "--model", "gpt-neox", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       (in / "config.json").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(out / "config_to_cs-2.3.yaml");
    EXPECT_NE(yaml.find("pos_scaling_factor: 2.0"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("pos_scaling_type"), std::string::npos) << yaml;
}

TEST(GptNeoxConfig, RopeScalingBothWays)
{
    TempDir in, out;
    write_file(in / "config.json",
               hf_json_with("gpt_neox", "rope_scaling", R"({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32})"));
    RunResult r = cli({"convert-config", "--model", "gpt-neox", "--src-fmt", "hf", "--tgt-fmt", "cs-2.4", "--config",
                       (in / "config.json").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string yaml = read_file(out / "config_to_cs-2.4.yaml");
    for (const char* line : {"pos_scaling_factor: 4.0", "pos_scaling_type: yarn", "original_max_position_embeddings: 32",
                             "name: gpt-neox", "rotary_dim: 4"})
        EXPECT_NE(yaml.find(line), std::string::npos) << line << "\n" << yaml;
    r = cli({"convert-config", "--model", "gpt-neox", "--src-fmt", "cs-2.4", "--tgt-fmt", "hf", "--config",
             (out / "config_to_cs-2.4.yaml").string(), "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Node back = read_config(out / "config_to_cs-2.4_to_hf.json");
    ASSERT_NE(back.find("rope_scaling"), nullptr);
    EXPECT_EQ(back.find("rope_scaling")->find("type")->as_string(), "yarn");
    EXPECT_EQ(back.find("rope_scaling")->find("original_max_position_embeddings")->as_int(), 32);
    EXPECT_EQ(back.find("rotary_pct")->as_float(), 0.25);
}


TEST(FalconConfig, GroupedQueryNeedsUntiedNorms)
{
    std::string gqa = read_file(ref("falcon", "hf_to_cs/config_to_cs-2.3.yaml"));
    gqa.replace(gqa.find("num_kv_groups: 1"), 16, "num_kv_groups: 2");
    expect_refusal(convert_config("falcon", "cs-2.3", "hf", ".yaml", gqa),
                   "HF's falcon doesn't support use_untied_layer_norm=False");
}

/// A float32 tensor of `shape` holding start, start + 1, ... (a misplaced row shows).
TensorPtr arange(std::vector<int64_t> shape, float start)
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        v[static_cast<size_t>(i)] = start + static_cast<float>(i);
    std::vector<std::byte> bytes(v.size() * sizeof(float));
    std::memcpy(bytes.data(), v.data(), bytes.size());
    return std::make_shared<MemoryTensor>(TensorInfo{DType::f32, std::move(shape)}, std::move(bytes));
}

float value_at(const TensorPtr& t, int64_t row, int64_t cols)
{
    const std::vector<std::byte> bytes = read_all(*t);
    float v = 0;
    std::memcpy(&v, bytes.data() + (row * cols) * sizeof(float), sizeof v);
    return v;
}

/// Falcon's new decoder architecture (40B/180B) with grouped query attention: 4 heads in 2 kv
/// groups, two norms per block. Made from the fixture by giving each layer a `[(4 + 2*2)*16, 64]`
/// query_key_value of distinct values and ln_attn/ln_mlp norms.
std::vector<NamedTensor> grouped_query_tensors()
{
    std::vector<NamedTensor> tensors;
    for (const auto& [name, t] : model_tensors(hf("falcon", "bin/pytorch_model.bin"))) {
        const size_t at = name.find("input_layernorm");
        if (name.find("query_key_value") != std::string::npos)
            tensors.push_back({name, arange({128, 64}, name.find(".h.1.") != std::string::npos ? 1e5f : 0.0f)});
        else if (at != std::string::npos) {
            tensors.push_back({name.substr(0, at) + "ln_attn" + name.substr(at + 15), t});
            tensors.push_back({name.substr(0, at) + "ln_mlp" + name.substr(at + 15), arange({64}, 7.0f)});
        } else
            tensors.push_back({name, t});
    }
    return tensors;
}

/// The fixture's config.json with `entries` ("key", JSON value) replacing its own values.
std::string falcon_config_with(const std::vector<std::pair<std::string, std::string>>& entries)
{
    std::string json = read_file(hf("falcon", "bin/config.json"));
    for (const auto& [k, v] : entries) {
        const size_t at = json.find("\"" + k + "\": ");
        json.replace(at, json.find(',', at) - at, "\"" + k + "\": " + v);
    }
    return json;
}

/// The FalconConfig of grouped_query_tensors().
std::string grouped_query_config()
{
    return falcon_config_with(
        {{"new_decoder_architecture", "true"}, {"num_kv_heads", "2"}, {"num_ln_in_parallel_attn", "2"}, {"multi_query", "false"}});
}

TEST(FalconGroupedQuery, SplitsPerGroupInterleavesAndRoundTrips)
{
    TempDir in, out;
    write_safetensors(in / "model.safetensors", grouped_query_tensors(), {{"format", "pt"}});
    write_file(in / "config.json", grouped_query_config());
    RunResult r = cli({"convert", "--model", "falcon", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       (in / "config.json").string(), (in / "model.safetensors").string(), "--output-dir",
                       (out / "cs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string yaml = read_file(out / "cs/config_to_cs-2.3.yaml");
    EXPECT_NE(yaml.find("num_kv_groups: 2"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("use_untied_layer_norm: true"), std::string::npos) << yaml;
    const auto cs = model_tensors(out / "cs/model_to_cs-2.3.mdl");
    const std::string attn = "transformer_decoder.layers.0.self_attn.";
    ASSERT_EQ(cs.at(attn + "proj_q_dense_layer.weight")->info().shape, (std::vector<int64_t>{64, 64}));
    ASSERT_EQ(cs.at(attn + "proj_k_dense_layer.weight")->info().shape, (std::vector<int64_t>{32, 64}));
    // Group g holds q heads 2g, 2g+1, then k, then v (16 rows each); q and k rows interleave the
    // halves of a head: CS row r of a head is HF row r/2 (r even) or 8 + r/2 (r odd).
    EXPECT_EQ(value_at(cs.at(attn + "proj_q_dense_layer.weight"), 3 * 16 + 5, 64), float((64 + 16 + 10) * 64));
    EXPECT_EQ(value_at(cs.at(attn + "proj_k_dense_layer.weight"), 16 + 1, 64), float((64 + 32 + 8) * 64));
    EXPECT_EQ(value_at(cs.at(attn + "proj_v_dense_layer.weight"), 3, 64), float((48 + 3) * 64));
    EXPECT_TRUE(cs.count("transformer_decoder.layers.0.norm3.weight"));
    r = cli({"convert", "--model", "falcon", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
             (out / "cs/config_to_cs-2.3.yaml").string(), (out / "cs/model_to_cs-2.3.mdl").string(), "--output-dir",
             (out / "hf").string(), "--export-safetensors"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(same_tensors(out / "hf/model_to_cs-2.3_to_hf/model.safetensors.index.json", in / "model.safetensors"));
    Node back = read_config(out / "hf/model_to_cs-2.3_to_hf/config.json");
    EXPECT_TRUE(back.find("new_decoder_architecture")->as_bool());
    EXPECT_EQ(back.find("num_kv_heads")->as_int(), 2);
    EXPECT_EQ(back.find("num_ln_in_parallel_attn")->as_int(), 2);
}

/// The RWModel / FalconModel form of an LM checkpoint: the base model's names, no head.
std::vector<NamedTensor> headless_tensors(const std::vector<NamedTensor>& lm)
{
    std::vector<NamedTensor> out;
    for (const NamedTensor& t : lm)
        if (t.name.rfind("transformer.", 0) == 0)
            out.push_back({t.name.substr(std::string("transformer.").size()), t.tensor});
    return out;
}

/// The config keys a RefinedWeb conversion legitimately writes otherwise than one of the same
/// model's FalconConfig: RWConfig has no max_position_embeddings (the CS default 2048 is written),
/// and the 7B/40B converters have no rope rules (CS takes its defaults, the 180B converter's values).
constexpr const char* kRefinedWebOwnKeys = "model.max_position_embeddings model.pos_scaling_factor model.rope_theta";

/// The legacy remote-code configs (RWForCausalLM / RWModel) convert to what the same model's
/// FalconConfig converts to, for every CS release: the 7B codebase on the fixture's tensors, the
/// 40B codebase on the grouped-query tensors (n_head_kv 2), each LM and headless.
TEST(FalconRefinedWeb, ConvertsAsTheSameModelsFalconConfigForEveryRelease)
{
    struct Case {
        std::string name;
        fs::path legacy_config;
        std::string falcon_config;
        std::vector<NamedTensor> tensors;
    };
    std::vector<NamedTensor> fixture;
    for (const auto& [name, t] : model_tensors(hf("falcon", "bin/pytorch_model.bin")))
        fixture.push_back({name, t});
    const std::vector<Case> cases = {
        {"7b", data_path("hf/falcon/refinedweb-7b/config.json"), read_file(hf("falcon", "bin/config.json")), fixture},
        {"40b", data_path("hf/falcon/refinedweb-40b/config.json"), grouped_query_config(), grouped_query_tensors()}};
    TempDir in, out;
    for (const Case& c : cases)
        for (const bool headless : {false, true}) {
            const std::string model = headless ? "falcon-headless" : "falcon";
            const fs::path dir = in / (c.name + (headless ? "-headless" : ""));
            fs::create_directories(dir);
            write_safetensors(dir / "model.safetensors", headless ? headless_tensors(c.tensors) : c.tensors,
                              {{"format", "pt"}});
            // Both tie the head the headless conversion makes (RWConfig's default; FalconConfig's
            // too, but the 180B converter reads only a stated flag).
            std::string falcon = c.falcon_config;
            falcon.insert(falcon.find('{') + 1, "\n  \"tie_word_embeddings\": true,");
            write_file(dir / "config.json", falcon);
            for (const std::string tgt : {"cs-2.0", "cs-2.1", "cs-2.2", "cs-2.3", "cs-2.4", "cs-2.5", "cs-2.6", "cs-2.7",
                                          "cs-2.8", "cs-2.9"}) {
                if (headless && tgt == "cs-2.0")
                    continue; // falcon-headless has no cs-2.0 (nor has the Model Zoo)
                SCOPED_TRACE(c.name + " " + model + " -> " + tgt);
                const fs::path mine = out / (c.name + model + tgt + "-rw"), theirs = out / (c.name + model + tgt);
                RunResult r = cli({"convert", "--model", model, "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                                   c.legacy_config.string(), (dir / "model.safetensors").string(), "--output-dir",
                                   mine.string()});
                ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
                r = cli({"convert", "--model", model, "--src-fmt", "hf", "--tgt-fmt", tgt, "--config",
                         (dir / "config.json").string(), (dir / "model.safetensors").string(), "--output-dir",
                         theirs.string()});
                ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
                EXPECT_TRUE(same_tensors(only_file(mine, ".mdl"), only_file(theirs, ".mdl")));
                EXPECT_TRUE(same_config_except(only_file(mine, ".yaml"), only_file(theirs, ".yaml"), kRefinedWebOwnKeys));
            }
        }
}

/// A headless 7B RWModel's config rarely states tie_word_embeddings: the head is the word
/// embedding, as RWConfig ties it (the Model Zoo stops with a KeyError; docs/decisions.md).
TEST(FalconRefinedWeb, HeadlessSevenBTiesTheHead)
{
    std::vector<NamedTensor> lm;
    for (const auto& [name, t] : model_tensors(hf("falcon", "bin/pytorch_model.bin")))
        lm.push_back({name, t});
    TempDir in, out;
    write_safetensors(in / "model.safetensors", headless_tensors(lm), {{"format", "pt"}});
    RunResult r = cli({"convert", "--model", "falcon-headless", "--src-fmt", "hf", "--tgt-fmt", "cs-2.3", "--config",
                       data_path("hf/falcon/refinedweb-7b/config.json").string(), (in / "model.safetensors").string(),
                       "--output-dir", out.path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto cs = model_tensors(only_file(out.path(), ".mdl"));
    ASSERT_TRUE(cs.count("lm_head.weight"));
    EXPECT_EQ(read_all(*cs.at("lm_head.weight")), read_all(*cs.at("embedding_layer.word_embeddings.weight")));
}

TEST(DecoderList, ShowsEveryModelName)
{
    RunResult r = cli({"list", "--hide-notes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"gptj", "gptj-headless", "codegen", "codegen-headless", "gpt-neox", "gpt-neox-headless",
                             "falcon", "falcon-headless"})
        EXPECT_NE(r.out.find(std::string("│ ") + name + " "), std::string::npos) << name;
}

} // namespace
} // namespace ckpt::test
