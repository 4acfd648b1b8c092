// SPDX-License-Identifier: Apache-2.0
// The llava plugin's behaviour beyond the Model Zoo references: its refusals (each with no output
// left behind), the output directory the Model Zoo could not write into, and a compound folder
// that lacks a part.
#include "checkpoint_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace ckpt::test {
namespace {

/// A writable copy of the llava fixture folder `flavor` (bin or safetensors) of `family`.
fs::path copy_fixture(const TempDir& tmp, const std::string& family, const std::string& flavor)
{
    const fs::path dir = tmp / ("in_" + family);
    fs::copy(hf(family, flavor), dir, fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(dir))
        fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    return dir;
}

/// Sets `"key": value` in `dir`/text_model/config.json.
void set_text_key(const fs::path& dir, const std::string& key, const std::string& value)
{
    const fs::path p = dir / "text_model/config.json";
    write_file(p, with_json_key(read_file(p), key, value));
}

/// `convert --model M --src-fmt hf --tgt-fmt cs-2.3` of the folder `dir` (checkpoint and config).
RunResult convert_folder(const std::string& model, const fs::path& dir, const fs::path& out)
{
    return convert(model, "hf", "cs-2.3", dir, dir, out);
}

bool empty_or_absent(const fs::path& dir) { return !fs::exists(dir) || fs::is_empty(dir); }

TEST(LlavaFolder, ListShowsBothModels)
{
    const RunResult r = cli({"list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("│ llava "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("│ mmsimple-llava "), std::string::npos) << r.out;
}

TEST(LlavaFolder, MmsimpleRefusesATwoLayerProjectorConfig)
{
    TempDir tmp;
    const RunResult r = convert_folder("mmsimple-llava", hf("llava", "bin"), tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("mlp2x_gelu"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--model llava"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "out"));
}

// The Model Zoo writes both layers under one key; ckptconv names the tensor it cannot place.
TEST(LlavaFolder, MmsimpleRefusesTwoLayerProjectorTensors)
{
    TempDir tmp;
    const fs::path in = copy_fixture(tmp, "llava", "bin");
    set_text_key(in, "mm_projector_type", "\"mlp1x_gelu\"");
    const RunResult r = convert_folder("mmsimple-llava", in, tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("model.mm_projector.0."), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--model llava"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "out"));
}

/// `dir` with the text model's projector tensors removed (a plain LLaMA beside the tower).
fs::path without_projector(const TempDir& tmp, const std::string& family)
{
    const fs::path in = copy_fixture(tmp, family, "safetensors");
    std::vector<std::pair<std::string, Tensor>> kept;
    for (auto& [name, t] : tensors(in / "text_model/model.safetensors"))
        if (name.find("mm_projector") == std::string::npos)
            kept.emplace_back(name, t);
    EXPECT_EQ(kept.size(), 21u);
    write_f32_safetensors(in / "text_model/model.safetensors", kept);
    return in;
}

// Converter_LLaVA_HF_CS22 starts a first training phase from a plain LLaMA: the projector its
// config describes, uniform in +-sqrt(1/inputs), here from a fixed seed (the same every run).
TEST(LlavaFolder, InitialisesAMissingProjector)
{
    TempDir tmp;
    const fs::path in = without_projector(tmp, "llava");
    for (const char* out : {"out1", "out2"}) {
        const RunResult r = convert_folder("llava", in, tmp / out);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.err.find("fixed-seed uniform"), std::string::npos) << r.err;
    }
    const fs::path mdl = tmp / "out1/pytorch_model_to_cs-2.3.mdl";
    EXPECT_EQ(read_file(mdl), read_file(tmp / "out2/pytorch_model_to_cs-2.3.mdl"));
    auto got = model_tensors(mdl);
    auto want = model_tensors(ref("llava", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    const std::vector<std::pair<std::string, size_t>> projector{{"0.linear_layer.weight", 64 * 48},
                                                                {"0.linear_layer.bias", 64},
                                                                {"1.linear_layer.weight", 64 * 64},
                                                                {"1.linear_layer.bias", 64}};
    for (const auto& [name, count] : projector) {
        const std::string key = "projector_image_model.ffn." + name;
        ASSERT_TRUE(got.count(key)) << key;
        const std::vector<float> v = floats(got.at(key));
        ASSERT_EQ(v.size(), count) << key;
        const float bound = name[0] == '0' ? std::sqrt(1.0f / 48) : std::sqrt(1.0f / 64);
        float lo = 0, hi = 0;
        for (float x : v) {
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
        EXPECT_LE(hi, bound) << key;
        EXPECT_GE(lo, -bound) << key;
        EXPECT_GT(hi - lo, bound) << key; // spread over the range, not a constant
        EXPECT_NE(bytes_of(*got.at(key)), bytes_of(*want.at(key))) << key;
        got.erase(key);
        want.erase(key);
    }
    EXPECT_EQ(compare(got, want), ""); // everything else as the Model Zoo converts it
}

TEST(LlavaFolder, MmsimpleRefusesATextModelWithoutProjector)
{
    TempDir tmp;
    const RunResult r = convert_folder("mmsimple-llava", without_projector(tmp, "mmsimple_llava"), tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("no projector (model.mm_projector.weight)"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "out"));
}

// Release 2.4.0's mmsimple-llava maps llava's nn.Sequential projector names; the 2.3 converter's
// one Linear (model.mm_projector.weight, the fixture) is taken as its layer 0 and written once,
// and comes back as model.mm_projector.0.*, the name the original LLaVA code gives mlp1x_gelu.
TEST(LlavaFolder, MmsimpleCs24TakesThe23OneLinearProjector)
{
    TempDir tmp;
    const fs::path in = hf("mmsimple_llava", "bin");
    RunResult r = convert("mmsimple-llava", "hf", "cs-2.4", in, in, tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto got = model_tensors(tmp / "cs/pytorch_model_to_cs-2.4.mdl");
    auto want = model_tensors(ref("mmsimple_llava", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"));
    for (const char* s : {"weight", "bias"}) { // 2.3 holds the projector once per vision layer
        ASSERT_TRUE(want.erase(std::string("image_model.projection.ffn.1.linear_layer.") + s));
        ASSERT_TRUE(want.count(std::string("image_model.projection.ffn.0.linear_layer.") + s));
    }
    EXPECT_EQ(compare(got, want), "");

    r = convert("mmsimple-llava", "cs-2.4", "hf", tmp / "cs/config_to_cs-2.4.yaml",
                tmp / "cs/pytorch_model_to_cs-2.4.mdl", tmp / "hf");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto back = model_tensors(only_file(tmp / "hf/text_model", "-00001-of-00001.bin"));
    for (const char* s : {"weight", "bias"}) {
        const std::string seq = std::string("model.mm_projector.0.") + s;
        ASSERT_TRUE(back.count(seq)) << seq;
        back[std::string("model.mm_projector.") + s] = back.at(seq);
        back.erase(seq);
    }
    EXPECT_EQ(compare(back, model_tensors(in / "text_model/pytorch_model.bin")), "");
}

// As llava's, Release 2.4.0's mmsimple-llava starts a first phase from a plain LLaMA.
TEST(LlavaFolder, MmsimpleCs24InitialisesAMissingProjector)
{
    TempDir tmp;
    const fs::path in = without_projector(tmp, "mmsimple_llava");
    const RunResult r = convert("mmsimple-llava", "hf", "cs-2.4", in, in, tmp / "out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("fixed-seed uniform"), std::string::npos) << r.err;
    auto got = model_tensors(tmp / "out/pytorch_model_to_cs-2.4.mdl");
    ASSERT_TRUE(got.count("image_model.projection.ffn.0.linear_layer.weight"));
    EXPECT_EQ(floats(got.at("image_model.projection.ffn.0.linear_layer.weight")).size(), 64u * 48);
    EXPECT_EQ(floats(got.at("image_model.projection.ffn.0.linear_layer.bias")).size(), 64u);
    EXPECT_FALSE(got.count("image_model.projection.ffn.1.linear_layer.weight"));
}

// cs-2.4 takes a two-layer projector; the cs-2.3 MultimodalSimpleModel cannot hold it.
TEST(LlavaFolder, MmsimpleTwoLayerProjectorStaysAtCs24)
{
    TempDir tmp;
    const fs::path in = hf("llava", "bin");
    RunResult r = convert("mmsimple-llava", "hf", "cs-2.4", in, in, tmp / "cs");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = convert("mmsimple-llava", "cs-2.4", "cs-2.3", tmp / "cs/config_to_cs-2.4.yaml",
                tmp / "cs/pytorch_model_to_cs-2.4.mdl", tmp / "back");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("keep this checkpoint at cs-2.4 or later"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "back"));
}

TEST(LlavaFolder, ConfigRefusals)
{
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"mm_vision_select_layer", "0", "selects the embeddings"},
        {"mm_hidden_size", "40", "mm_hidden_size should be same as the hidden_dim of mm_vision_tower"},
        {"mm_projector_type", "\"linear\"", "`mm_projector_type` is of pattern `mlp(\\d+)x_gelu`, got linear"},
        {"mm_use_im_start_end", "true", "mm_use_im_start_end"}};
    for (const auto& [key, value, message] : cases) {
        TempDir tmp;
        const fs::path in = copy_fixture(tmp, "llava", "bin");
        set_text_key(in, key, value);
        const RunResult r = convert_config("llava", "hf", "cs-2.3", in, tmp / "out");
        EXPECT_EQ(r.exit_code, 1) << key << "\n" << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << key << "\n" << r.err;
        EXPECT_TRUE(empty_or_absent(tmp / "out")) << key;
    }
}

// The Model Zoo 2.3 rewrites "config" anywhere in the output path and fails here.
TEST(LlavaFolder, CsToHfWritesIntoADirectoryNamedConfig)
{
    TempDir tmp;
    const fs::path out = tmp / "my_config" / "config_out";
    RunResult r = convert("llava", "cs-2.3", "hf", ref("llava", "hf_to_cs/config_to_cs-2.3.yaml"),
                          ref("llava", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* f : {"image_model/config.json", "image_model/preprocessor_config.json", "text_model/config.json",
                          "image_model/pytorch_model.bin.index.json", "text_model/pytorch_model.bin.index.json"})
        EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
    EXPECT_EQ(config(out / "text_model/config.json").find("mm_vision_tower")->as_string(), "image_model");
    r = convert_config("llava", "cs-2.3", "hf", ref("llava", "config_hf_to_cs/config_to_cs-2.3.yaml"),
                       tmp / "config_only");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::is_regular_file(tmp / "config_only/image_model/preprocessor_config.json"));
}

// Each part's tensors against its own config (the clip-vit and llama shape tables, and the
// projector's), in both directions; inputs untouched, nothing written.
TEST(LlavaFolder, RefusesCheckpointsThatContradictTheirConfigs)
{
    TempDir tmp;
    const fs::path in = copy_fixture(tmp, "llava", "bin");
    const std::string text = read_file(in / "text_model/config.json");
    set_text_key(in, "num_hidden_layers", "3");
    RunResult r = convert_folder("llava", in, tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("text_model/: the checkpoint contradicts its config"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("layers\\.2\\."), std::string::npos) << r.err;

    write_file(in / "text_model/config.json", text);
    set_text_key(in, "mm_hidden_size", "40");
    const fs::path image = in / "image_model/config.json";
    write_file(image, with_json_key(read_file(image), "hidden_size", "40"));
    const std::string image_bytes = read_file(image);
    r = convert_folder("llava", in, tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("image_model/: the checkpoint contradicts its config"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(image), image_bytes);
    EXPECT_TRUE(empty_or_absent(tmp / "out"));

    // CS -> HF: the HF configs written from the CS config must fit the tensors written.
    const fs::path yaml = tmp / "config.yaml";
    std::string cs = read_file(ref("llava", "hf_to_cs/config_to_cs-2.3.yaml"));
    const size_t at = cs.find("num_hidden_layers: 2", cs.find("text_model:"));
    ASSERT_NE(at, std::string::npos);
    write_file(yaml, cs.replace(at, 20, "num_hidden_layers: 3"));
    r = convert("llava", "cs-2.3", "hf", yaml, ref("llava", "hf_to_cs/pytorch_model_to_cs-2.3.mdl"), tmp / "back");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("text_model/: the checkpoint contradicts its config"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "back"));
}

TEST(LlavaFolder, AFolderWithoutTextModelIsRefused)
{
    TempDir tmp;
    const fs::path in = copy_fixture(tmp, "llava", "bin");
    fs::rename(in / "text_model", in / "language_model");
    const RunResult r = convert_folder("llava", in, tmp / "out");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("text_model/config.json"), std::string::npos) << r.err;
    EXPECT_TRUE(empty_or_absent(tmp / "out"));
}

} // namespace
} // namespace ckpt::test
