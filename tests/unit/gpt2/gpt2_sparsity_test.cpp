// SPDX-License-Identifier: Apache-2.0
// Sparsity and training state outside the model: sideband sparsity's NaN weights written as 0 on
// CS -> HF, masks moved from the optimizer into the model and the pre-2.0 scheduler epoch fixed on
// CS -> CS, as the Model Zoo does.
#include <gtest/gtest.h>

#include "checkpoint_support.hpp"

#include "core/node.hpp"
#include "formats/mdl/mdl.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace ckpt::test::gpt2 {
namespace {

constexpr const char* kPruned = "transformer_decoder.layers.0.ffn.ffn.1.linear_layer.weight";

class Gpt2Sideband : public ::testing::Test {
protected:
    void SetUp() override
    {
        const RunResult r = convert("gpt2", "hf", "cs-2.3", hf("gpt2", "bin/config.json"),
                                    hf("gpt2", "bin/pytorch_model.bin"), tmp / "cs");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        cs_yaml = read_file(tmp / "cs/config_to_cs-2.3.yaml");
        // The same checkpoint with every other element of one weight pruned (NaN).
        Node model = Node::map();
        for (const auto& [name, t] : model_tensors(tmp / "cs/pytorch_model_to_cs-2.3.mdl")) {
            if (name != kPruned) {
                model.set(name, Node(t));
                continue;
            }
            std::vector<float> v = floats(t);
            for (size_t i = 0; i < v.size(); i += 2)
                v[i] = std::numeric_limits<float>::quiet_NaN();
            std::vector<std::byte> bytes(v.size() * 4);
            std::memcpy(bytes.data(), v.data(), bytes.size());
            original = floats(t);
            model.set(name, Node(TensorPtr(std::make_shared<MemoryTensor>(t->info(), std::move(bytes)))));
        }
        Node root = Node::map();
        root.set("model", std::move(model));
        write_mdl(tmp / "pruned.mdl", root);
    }

    /// c_proj of layer 0 after CS -> HF with `extra` appended to the config.
    std::vector<float> to_hf(const std::string& extra, const std::string& out)
    {
        write_file(tmp / (out + ".yaml"), cs_yaml + extra);
        RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.3", "--tgt-fmt", "hf", "--config",
                           (tmp / (out + ".yaml")).string(), (tmp / "pruned.mdl").string(), "--output-dir",
                           (tmp / out).string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const auto hf_tensors = model_tensors(tmp / out / "pruned_to_hf/pytorch_model.bin.index.json");
        return floats(hf_tensors.at("transformer.h.0.mlp.c_proj.weight"));
    }

    TempDir tmp;
    std::string cs_yaml;
    std::vector<float> original; // kPruned before pruning, CS layout [out, in]
};

TEST_F(Gpt2Sideband, PrunedWeightsAreWrittenAsZeros)
{
    const auto got = to_hf("sparsity:\n    type: sideband\n    sparsity: 0.5\n", "sideband");
    // HF's Conv1D c_proj is the CS weight [64, 128] transposed: [128, 64].
    const size_t rows = 64, cols = 128;
    ASSERT_EQ(got.size(), rows * cols);
    size_t zeros = 0;
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) {
            const size_t cs_index = r * cols + c;
            const float v = got[c * rows + r];
            if (cs_index % 2 == 0) {
                EXPECT_EQ(v, 0.0f);
                EXPECT_FALSE(std::signbit(v));
                ++zeros;
            } else {
                EXPECT_EQ(v, original[cs_index]);
            }
        }
    EXPECT_EQ(zeros, rows * cols / 2);
}

TEST_F(Gpt2Sideband, OtherSparsityKeepsTheNaNs)
{
    const auto got = to_hf("sparsity:\n    type: gmp\n    sparsity: 0.5\n", "gmp");
    size_t nans = 0;
    for (float v : got)
        nans += std::isnan(v) ? 1 : 0;
    EXPECT_EQ(nans, got.size() / 2);
}

// A training checkpoint through a CS -> CS step: the pre-2.0 scheduler epoch follows global_step
// and sparsity masks kept in the optimizer become model tensors, as in the Model Zoo.
TEST(Gpt2TrainState, SchedulerEpochAndSparsityMasksAreCarried)
{
    TempDir tmp;
    Node root = read_mdl(ref("gpt2", "input_cs22_train/checkpoint_10.mdl")).root;
    root.find("lr_scheduler")->set("last_epoch", Node(int64_t{7}));
    std::vector<std::byte> mask_bytes(64 * 128, std::byte{1});
    Node mask = Node::map();
    mask.set("mask", Node(TensorPtr(std::make_shared<MemoryTensor>(TensorInfo{DType::boolean, {64, 128}},
                                                                       std::move(mask_bytes)))));
    Node state = Node::map();
    state.set(kPruned, std::move(mask));
    Node group = Node::map();
    Node names = Node::list();
    names.push_back(Node(kPruned));
    group.set("param_names", std::move(names));
    Node group_sparsity = Node::map();
    group_sparsity.set("step", Node(int64_t{10}));
    group.set("sparsity", std::move(group_sparsity));
    Node groups = Node::list();
    groups.push_back(std::move(group));
    Node sparsity = Node::map();
    sparsity.set("state", std::move(state));
    sparsity.set("param_groups", std::move(groups));
    sparsity.set("step", Node(int64_t{10}));
    root.find("optimizer")->set("sparsity", std::move(sparsity));
    write_mdl(tmp / "ck.mdl", root);

    RunResult r = cli({"convert", "--model", "gpt2", "--src-fmt", "cs-2.2", "--tgt-fmt", "cs-2.3", "--config",
                       ref("gpt2", "input_cs22_train/params_gpt2_tiny.yaml").string(), (tmp / "ck.mdl").string(),
                       "--output-dir", (tmp / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Node out = read_mdl(tmp / "out/ck_to_cs-2.3.mdl").root;
    EXPECT_EQ(out.find("lr_scheduler")->find("last_epoch")->as_int(), 10);
    EXPECT_EQ(out.find("optimizer")->find("sparsity"), nullptr);
    ASSERT_TRUE(out.find("model")->find(std::string(kPruned) + "_mask"));
    EXPECT_EQ(out.find("model")->find(std::string(kPruned) + "_mask")->as_tensor()->info().dtype, DType::boolean);
    EXPECT_EQ(out.find("sparsity")->find("step")->as_int(), 10);
    EXPECT_EQ(out.find("sparsity")->find("sparsity")->find(kPruned)->find("index")->as_int(), 10);
}

} // namespace
} // namespace ckpt::test::gpt2
