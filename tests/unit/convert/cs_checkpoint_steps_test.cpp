// SPDX-License-Identifier: Apache-2.0
// The non-model part of CS checkpoint steps: cs-1.6 state dropped, the pre-2.0 scheduler epoch,
// sparsity masks moved into the model, and sideband sparsity's NaNs zeroed on the way to HF.
#include "convert/cs_checkpoint_steps.hpp"

#include "config/yaml_config.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace ckpt::convert {
namespace {

template <class T>
TensorPtr tensor(DType d, const std::vector<T>& values)
{
    std::vector<std::byte> bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return std::make_shared<MemoryTensor>(TensorInfo{d, {int64_t(values.size())}}, std::move(bytes));
}

template <class T>
std::vector<T> values(const TensorPtr& t, uint64_t offset = 0, uint64_t count = 0)
{
    if (count == 0)
        count = t->info().numel();
    std::vector<T> out(count);
    t->read(offset * sizeof(T), reinterpret_cast<std::byte*>(out.data()), count * sizeof(T));
    return out;
}

TEST(CsCheckpointSteps, SchedulerEpochFollowsGlobalStep)
{
    Node root = parse_yaml_config(R"(
global_step: 10
lr_scheduler: {last_epoch: 7, _milestones: [4], _schedulers: [{last_epoch: 1}, {last_epoch: 2}]}
)",
                                  "t");
    std::vector<NamedTensor> model;
    finish_cs_checkpoint(root, model, false, "ck.mdl");
    const Node& s = *root.find("lr_scheduler");
    EXPECT_EQ(s.find("last_epoch")->as_int(), 10);
    EXPECT_EQ(s.find("_schedulers")->items()[0].find("last_epoch")->as_int(), 10);
    EXPECT_EQ(s.find("_schedulers")->items()[1].find("last_epoch")->as_int(), 6);

    Node same = parse_yaml_config("global_step: 3\nlr_scheduler: {last_epoch: 3}", "t");
    const Node before = same;
    finish_cs_checkpoint(same, model, false, "ck.mdl");
    EXPECT_EQ(same, before);
}

TEST(CsCheckpointSteps, SparsityMasksMoveIntoTheModel)
{
    Node root = parse_yaml_config(R"(
optimizer:
  state: {}
  sparsity:
    step: 5
    param_groups: [{param_names: [w, v], sparsity: {step: 3}}, {param_names: [u]}]
global_step: 5
)",
                                  "t");
    Node state = Node::map();
    Node w = Node::map();
    w.set("mask", Node(tensor<uint8_t>(DType::boolean, {1, 0, 1})));
    state.set("w", std::move(w));
    Node gone = Node::map(); // a mask for a weight the model does not have is not carried
    gone.set("mask", Node(tensor<uint8_t>(DType::boolean, {1})));
    state.set("absent", std::move(gone));
    root.find("optimizer")->find("sparsity")->set("state", std::move(state));

    std::vector<NamedTensor> model{{"w", tensor<float>(DType::f32, {1, 2, 3})}};
    finish_cs_checkpoint(root, model, false, "ck.mdl");
    ASSERT_EQ(model.size(), 2u);
    EXPECT_EQ(model[1].name, "w_mask");
    EXPECT_EQ(values<uint8_t>(model[1].tensor), (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_EQ(root.find("optimizer")->find("sparsity"), nullptr);
    EXPECT_TRUE(root.find("optimizer")->find("state"));
    EXPECT_EQ(format_yaml_config(*root.find("sparsity")), "sparsity:\n    v:\n        index: 3\n    w:\n        index: 3\nstep: 5\n");
}

TEST(CsCheckpointSteps, Cs16StepsDropNonModelState)
{
    Node root = parse_yaml_config("model: {}\noptimizer: {a: 1}\nlr_scheduler: {b: 2}\n__metadata__: []\n", "t");
    std::vector<NamedTensor> model;
    finish_cs_checkpoint(root, model, true, "ck.mdl");
    EXPECT_EQ(format_yaml_config(root), "__metadata__: []\nmodel: {}\n");
}

TEST(CsCheckpointSteps, SidebandNansBecomeZeros)
{
    EXPECT_TRUE(has_sideband_sparsity(parse_yaml_config("sparsity: {type: sideband}", "t")));
    EXPECT_FALSE(has_sideband_sparsity(parse_yaml_config("sparsity: {algorithm: sideband}", "t")));
    EXPECT_FALSE(has_sideband_sparsity(parse_yaml_config("sparsity: 0.5", "t")));

    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto f32 = tensor<float>(DType::f32, {1.5f, nan, -nan, std::numeric_limits<float>::infinity(), 2.0f});
    const auto bf16 = tensor<uint16_t>(DType::bf16, {0x3f80, 0x7fc0, 0xffc1, 0x7f80});
    const auto f16 = tensor<uint16_t>(DType::f16, {0x3c00, 0x7e00, 0xfc00});
    const auto ints = tensor<int32_t>(DType::i32, {-1, 0x7fc00000});
    const auto out = with_nans_zeroed({{"a", f32}, {"tied", f32}, {"b", bf16}, {"c", f16}, {"i", ints}});
    ASSERT_EQ(out.size(), 5u);
    EXPECT_EQ(out[0].tensor, out[1].tensor); // a tie stays one tensor
    const auto a = values<float>(out[0].tensor);
    EXPECT_EQ(a[0], 1.5f);
    EXPECT_EQ(std::signbit(a[1]), false);
    EXPECT_EQ(a[1], 0.0f);
    EXPECT_EQ(a[2], 0.0f);
    EXPECT_TRUE(std::isinf(a[3]));
    // Reads that start and end inside an element.
    std::byte part[5];
    out[0].tensor->read(5, part, 5);
    uint32_t expect_bits[2] = {0, 0};
    std::memcpy(&expect_bits[1], &a[3], 4);
    EXPECT_EQ(std::memcmp(part, reinterpret_cast<const std::byte*>(expect_bits) + 1, 5), 0);
    EXPECT_EQ(values<uint16_t>(out[2].tensor), (std::vector<uint16_t>{0x3f80, 0, 0, 0x7f80}));
    EXPECT_EQ(values<uint16_t>(out[3].tensor), (std::vector<uint16_t>{0x3c00, 0, 0xfc00}));
    EXPECT_EQ(out[4].tensor, ints);
}

TEST(CsCheckpointSteps, R19DataloaderStateIsInjected)
{
    test::TempDir tmp;
    const auto dir = tmp / "iter";
    std::filesystem::create_directories(dir);
    test::write_file(dir / "data_iter_checkpoint_state_file_global", "20\n");
    test::write_file(dir / "data_iter_state_file_worker_1_step_20.txt", "300\n");
    test::write_file(dir / "data_iter_state_file_worker_0_step_20.txt", " 200 \n");
    test::write_file(dir / "data_iter_state_file_worker_0_step_10.txt", "100\n"); // another step
    auto config = [&](const char* processor) {
        return parse_yaml_config(std::string("cerebras: {save_iter_state_path: '") + dir.string() +
                                     "'}\ntrain_input: {data_processor: " + processor + "}\n",
                                 "c.yaml");
    };

    Node root = Node::map();
    inject_r19_dataloader_state(root, config("GptHDF5MapDataProcessor"), "c.yaml");
    EXPECT_EQ(format_yaml_config(root), "dataloader:\n    samples_streamed: 500\n    seed: 0\n");

    root = Node::map();
    inject_r19_dataloader_state(root, config("GptHDF5DataProcessor"), "c.yaml");
    EXPECT_EQ(format_yaml_config(root), R"(dataloader:
    all_worker_states:
    -   samples_streamed: 200
        shard_index: 0
    -   samples_streamed: 300
        shard_index: 1
)");

    // Already there: kept. No path: nothing. Wrong processor, missing step file: errors.
    Node kept = parse_yaml_config("dataloader: {x: 1}", "t");
    inject_r19_dataloader_state(kept, config("GptHDF5DataProcessor"), "c.yaml");
    EXPECT_EQ(format_yaml_config(kept), "dataloader:\n    x: 1\n");
    Node none = Node::map();
    inject_r19_dataloader_state(none, parse_yaml_config("train_input: {}", "t"), "c.yaml");
    EXPECT_EQ(none.size(), 0u);
    EXPECT_THROW(inject_r19_dataloader_state(none, config("BertCSVDataProcessor"), "c.yaml"), InputError);
    std::filesystem::remove(dir / "data_iter_checkpoint_state_file_global");
    EXPECT_THROW(inject_r19_dataloader_state(none, config("GptHDF5DataProcessor"), "c.yaml"), InputError);
    test::write_file(dir / "data_iter_checkpoint_state_file_global", "twenty\n");
    EXPECT_THROW(inject_r19_dataloader_state(none, config("GptHDF5DataProcessor"), "c.yaml"), InputError);
}

} // namespace
} // namespace ckpt::convert
