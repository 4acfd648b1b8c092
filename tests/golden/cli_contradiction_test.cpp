// SPDX-License-Identifier: Apache-2.0
// Inputs that contradict their config, for every family with a shape table (gpt2, llama,
// mistral, mixtral, bert, roberta, t5, gptj, codegen, gpt-neox, falcon, esm-2, clip-vit, starcoder,
// santacoder, btlm, jais, bloom, mpt): wrong layer counts, widths, non-integer, negative and
// absurd sizes, tensors of another shape, scalars, integer weights, and checkpoints without
// tensors. Each must fail with exit 1 before anything is written, even with
// --drop-unmatched-keys, and leave every input byte-identical.
#include "test_support.hpp"

#include "config/config_file.hpp"
#include "core/node.hpp"
#include "core/tensor.hpp"
#include "formats/container.hpp"
#include "formats/mdl/mdl.hpp"
#include "formats/safetensors/safetensors_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;
using ckpt::test::list_tree;
using ckpt::test::read_file;
using ckpt::test::run_cli;
using ckpt::test::RunResult;
using ckpt::test::TempDir;
using ckpt::test::write_file;

namespace {

struct Family {
    std::string model;     // --model
    std::string data;      // tests/data/hf/<data>/safetensors
    std::string layers;    // the HF layer-count key
    std::string width;     // the HF width key
    std::string tensor;    // an HF weight matrix to corrupt
    std::string config = ""; // tests/data/<config> when the fixture's own config is not convertible
    std::string cs_step = "cs-2.4"; // a CS release the cs-2.3 checkpoint is converted to (mpt has none after cs-2.3)
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.model; }

RunResult cli(std::vector<std::string> args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

class Contradiction : public ::testing::TestWithParam<Family> {
protected:
    void SetUp() override
    {
        const fs::path src = ckpt::test::data_path("hf/" + GetParam().data + "/safetensors");
        fs::copy_file(src / "model.safetensors", dir / "model.safetensors");
        fs::copy_file(GetParam().config.empty() ? src / "config.json" : ckpt::test::data_path(GetParam().config),
                      dir / "config.json");
    }

    RunResult convert(const fs::path& ckpt, const std::string& src, const std::string& tgt, const fs::path& config,
                      std::vector<std::string> extra = {})
    {
        std::vector<std::string> a{"convert", ckpt.string(), "--model", GetParam().model, "--src-fmt", src,
                                   "--tgt-fmt", tgt, "--config", config.string(), "--output-dir", (dir / "out").string()};
        a.insert(a.end(), extra.begin(), extra.end());
        return cli(a);
    }

    /// Runs `convert` on inputs that must be refused: exit 1, the expected words, no output,
    /// every input unchanged. Then once more with --drop-unmatched-keys, which must not help.
    void expect_refused(const fs::path& ckpt, const std::string& src, const std::string& tgt, const fs::path& config,
                        const std::string& words)
    {
        const std::string ckpt_bytes = read_file(ckpt), config_bytes = read_file(config);
        const auto before = list_tree(dir.path());
        for (const bool drop : {false, true}) {
            auto r = convert(ckpt, src, tgt, config, drop ? std::vector<std::string>{"--drop-unmatched-keys"}
                                                          : std::vector<std::string>{});
            EXPECT_EQ(r.exit_code, 1) << "drop=" << drop << "\n" << r.err;
            EXPECT_NE(r.err.find(words), std::string::npos) << "drop=" << drop << "\n" << r.err;
        }
        EXPECT_EQ(list_tree(dir.path()), before); // nothing written, not even the output folder's files
        EXPECT_TRUE(read_file(ckpt) == ckpt_bytes);
        EXPECT_TRUE(read_file(config) == config_bytes);
    }

    /// config.json with `key` set to `value`, as a new file.
    fs::path config_with(const std::string& key, ckpt::Node value)
    {
        ckpt::Node cfg = ckpt::read_config(dir / "config.json");
        cfg.set(key, std::move(value));
        const fs::path out = dir / ("config_" + std::to_string(++m_configs) + ".json");
        ckpt::write_config(out, cfg, false);
        return out;
    }

    /// model.safetensors with `name` replaced by `t` (or removed when null), as a new file.
    fs::path checkpoint_with(const std::string& name, ckpt::TensorPtr t, const std::string& file)
    {
        ckpt::Checkpoint ck = ckpt::open_checkpoint(dir / "model.safetensors");
        std::vector<ckpt::NamedTensor> tensors;
        for (auto& nt : ckpt::flat_tensors(ck.root, "model.safetensors"))
            if (nt.name != name)
                tensors.push_back(nt);
            else if (t)
                tensors.push_back({name, t});
        ckpt::write_safetensors(dir / file, tensors, {});
        return dir / file;
    }

    int64_t config_int(const std::string& key)
    {
        const ckpt::Node cfg = ckpt::read_config(dir / "config.json");
        return cfg.find(key)->as_int();
    }

    TempDir dir;
    int m_configs = 0;
};

ckpt::TensorPtr tensor(ckpt::DType dtype, std::vector<int64_t> shape)
{
    ckpt::TensorInfo info{dtype, std::move(shape)};
    return std::make_shared<ckpt::MemoryTensor>(info, std::vector<std::byte>(info.nbytes(), std::byte{0}));
}

} // namespace

TEST_P(Contradiction, TheUntouchedFixtureConverts)
{
    // The baseline every case below changes one thing of.
    auto r = convert(dir / "model.safetensors", "hf", "cs-2.3", dir / "config.json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(Contradiction, MoreOrFewerLayersThanTheCheckpoint)
{
    const int64_t layers = config_int(GetParam().layers);
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3", config_with(GetParam().layers, ckpt::Node(layers + 1)),
                   "the config has " + std::to_string(layers + 1) + " layers");
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3", config_with(GetParam().layers, ckpt::Node(layers - 1)),
                   "but the config has " + std::to_string(layers - 1) + " layers");
}

TEST_P(Contradiction, AWidthOtherThanTheTensors)
{
    const int64_t width = config_int(GetParam().width);
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3", config_with(GetParam().width, ckpt::Node(width / 2)),
                   "the config implies");
}

TEST_P(Contradiction, SizesThatAreNotPositiveIntegers)
{
    const std::string key = GetParam().layers;
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3", config_with(key, ckpt::Node("twelve")),
                   "config key '" + key + "': expected a positive integer, found \"twelve\"");
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3", config_with(key, ckpt::Node(-4)),
                   "config key '" + key + "': -4 is out of range");
    expect_refused(dir / "model.safetensors", "hf", "cs-2.3",
                   config_with(GetParam().width, ckpt::Node(int64_t{1} << 40)),
                   "config key '" + GetParam().width + "': 1099511627776 is out of range");
}

TEST_P(Contradiction, TensorsOfAnotherShapeScalarsAndIntegers)
{
    const std::string& name = GetParam().tensor;
    expect_refused(checkpoint_with(name, tensor(ckpt::DType::f32, {3, 5}), "shape.safetensors"), "hf", "cs-2.3",
                   dir / "config.json", "tensor '" + name + "' has shape [3, 5], the config implies");
    expect_refused(checkpoint_with(name, tensor(ckpt::DType::f32, {}), "scalar.safetensors"), "hf", "cs-2.3",
                   dir / "config.json", "tensor '" + name + "' has shape [], the config implies");
    ckpt::Checkpoint ck = ckpt::open_checkpoint(dir / "model.safetensors");
    std::vector<int64_t> shape;
    for (auto& nt : ckpt::flat_tensors(ck.root, "model.safetensors"))
        if (nt.name == name)
            shape = nt.tensor->info().shape;
    expect_refused(checkpoint_with(name, tensor(ckpt::DType::i32, shape), "ints.safetensors"), "hf", "cs-2.3",
                   dir / "config.json", "tensor '" + name + "' holds integer values");
}

TEST_P(Contradiction, ACerebrasCheckpointWhoseTensorsContradictItsConfig)
{
    ASSERT_EQ(convert(dir / "model.safetensors", "hf", "cs-2.3", dir / "config.json").exit_code, 0);
    const fs::path mdl = dir / "out" / "model_to_cs-2.3.mdl";
    const fs::path yaml = dir / "out" / "config_to_cs-2.3.yaml";
    ckpt::Checkpoint ck = ckpt::open_checkpoint(mdl);
    ckpt::Node* model = ck.root.find("model");
    ASSERT_NE(model, nullptr);
    // A layer-0 weight matrix (tied embeddings may be dropped on the way, so not those), once
    // with another shape, once as a scalar, once as integers.
    std::string victim;
    for (auto& nt : ckpt::flat_tensors(*model, "model"))
        if (victim.empty() && nt.tensor->info().shape.size() == 2 && nt.name.find("layers.0.") != std::string::npos)
            victim = nt.name;
    ASSERT_FALSE(victim.empty());
    std::vector<int64_t> shape;
    for (auto& nt : ckpt::flat_tensors(*model, "model"))
        if (nt.name == victim)
            shape = nt.tensor->info().shape;
    int n = 0;
    for (const auto& bad :
         {tensor(ckpt::DType::f32, {3, 5}), tensor(ckpt::DType::f32, {}), tensor(ckpt::DType::i64, shape)}) {
        ckpt::Node root = ck.root;
        ckpt::Node m = ckpt::Node::map();
        for (auto& nt : ckpt::flat_tensors(*model, "model"))
            m.append(ckpt::Node(nt.name), ckpt::Node(nt.name == victim ? bad : nt.tensor));
        root.set("model", m);
        const fs::path file = dir / ("bad" + std::to_string(n++) + ".mdl");
        ckpt::write_mdl(file, root);
        // The plugin's own rule may be the first to notice; any message will do, exit 1 will not.
        expect_refused(file, "cs-2.3", "hf", yaml, "");
        // A release step renames tensors without looking at them; the checkpoint is checked on
        // its way to hf first.
        expect_refused(file, "cs-2.3", GetParam().cs_step, yaml, "checking the cs-2.3 checkpoint against its config");
    }
    // The untouched checkpoint upgrades, and is refused when its config has another layer count.
    const auto upgraded = convert(mdl, "cs-2.3", GetParam().cs_step, yaml);
    ASSERT_EQ(upgraded.exit_code, 0) << upgraded.err;
    for (const auto& e : fs::directory_iterator(dir / "out"))
        if (e.path().filename().string().find(GetParam().cs_step) != std::string::npos)
            fs::remove_all(e.path());
    std::string text = read_file(yaml);
    const std::string key = "num_hidden_layers: ";
    const size_t at = text.find(key);
    if (at != std::string::npos) {
        const size_t end = text.find('\n', at);
        const int64_t layers = std::stoll(text.substr(at + key.size(), end - at - key.size()));
        text.replace(at, end - at, key + std::to_string(layers + 1));
        write_file(dir / "more_layers.yaml", text);
        expect_refused(mdl, "cs-2.3", GetParam().cs_step, dir / "more_layers.yaml",
                       "the config has " + std::to_string(layers + 1) + " layers");
    }
}

TEST_P(Contradiction, CheckpointsWithoutTensors)
{
    write_file(dir / "model.safetensors.index.json", "{\"metadata\": {}, \"weight_map\": {}}");
    expect_refused(dir / "model.safetensors.index.json", "hf", "cs-2.3", dir / "config.json", "no tensors");
    ckpt::Node root = ckpt::Node::map();
    root.set("model", ckpt::Node::map());
    ckpt::write_mdl(dir / "empty.mdl", root);
    ASSERT_EQ(convert(dir / "model.safetensors", "hf", "cs-2.3", dir / "config.json").exit_code, 0);
    expect_refused(dir / "empty.mdl", "cs-2.3", "hf", dir / "out" / "config_to_cs-2.3.yaml", "no tensors");
}

INSTANTIATE_TEST_SUITE_P(
    Families, Contradiction,
    ::testing::Values(
        Family{"gpt2", "gpt2", "n_layer", "n_embd", "transformer.h.0.mlp.c_fc.weight"},
        Family{"llama", "llama", "num_hidden_layers", "hidden_size", "model.layers.0.mlp.up_proj.weight"},
        Family{"mistral", "mistral", "num_hidden_layers", "hidden_size", "model.layers.1.self_attn.k_proj.weight"},
        Family{"mixtral", "mixtral", "num_hidden_layers", "hidden_size",
               "model.layers.1.block_sparse_moe.experts.1.w2.weight"},
        Family{"bert", "bert", "num_hidden_layers", "hidden_size", "bert.encoder.layer.0.intermediate.dense.weight"},
        Family{"roberta", "roberta", "num_hidden_layers", "hidden_size", "roberta.encoder.layer.1.output.dense.weight"},
        // The tiny T5's own relative_attention_max_distance is refused by the Model Zoo too.
        Family{"t5", "t5", "num_layers", "d_model", "encoder.block.0.layer.1.DenseReluDense.wi.weight",
               "cs-ref/t5/input/config.json"},
        Family{"gptj", "gptj", "n_layer", "n_embd", "transformer.h.0.mlp.fc_in.weight"},
        Family{"codegen", "codegen", "n_layer", "n_embd", "transformer.h.1.attn.qkv_proj.weight"},
        Family{"gpt-neox", "gpt_neox", "num_hidden_layers", "hidden_size", "gpt_neox.layers.0.mlp.dense_h_to_4h.weight"},
        Family{"falcon", "falcon", "num_hidden_layers", "hidden_size",
               "transformer.h.1.self_attention.query_key_value.weight"},
        Family{"esm-2", "esm2", "num_hidden_layers", "hidden_size", "esm.encoder.layer.1.intermediate.dense.weight"},
        Family{"clip-vit", "clip_vit", "num_hidden_layers", "hidden_size",
               "vision_model.encoder.layers.0.mlp.fc1.weight"},
        Family{"starcoder", "starcoder", "n_layer", "n_embd", "transformer.h.0.attn.c_attn.weight"},
        Family{"santacoder", "santacoder", "n_layer", "n_embd", "transformer.h.1.attn.kv_attn.weight"},
        // ---- btlm, jais (i14c) ----
        Family{"btlm", "btlm", "n_layer", "n_embd", "transformer.h.0.mlp.c_fc2.weight"},
        Family{"jais", "jais", "n_layer", "n_embd", "transformer.h.1.attn.c_attn.weight"},
        Family{"bloom", "bloom", "n_layer", "hidden_size", "transformer.h.0.mlp.dense_h_to_4h.weight"},
        Family{"mpt", "mpt", "n_layers", "d_model", "transformer.blocks.0.attn.Wqkv.weight", "", "cs-2.2"}),
    [](const ::testing::TestParamInfo<Family>& i) {
        std::string name = i.param.model;
        for (char& c : name)
            if (c == '-')
                c = '_';
        return name;
    });

// Falcon's legacy RefinedWeb 7B config (n_head, n_layer) of the same fixture: its own key names.
INSTANTIATE_TEST_SUITE_P(RefinedWeb, Contradiction,
                         ::testing::Values(Family{"falcon", "falcon", "n_layer", "hidden_size",
                                                  "transformer.h.1.self_attention.query_key_value.weight",
                                                  "hf/falcon/refinedweb-7b/config.json"}),
                         [](const ::testing::TestParamInfo<Family>&) { return std::string("falcon_7b"); });
