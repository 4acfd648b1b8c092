// SPDX-License-Identifier: Apache-2.0
// A host whose structs grew (a field appended to each, minor 3; see CMakeLists.txt) still loads
// and converts with a plugin built from the frozen 1.0 headers and with one built for 1.1:
// the append-only promise of docs/abi.md §2, exercised rather than asserted.
#include "core/tensor.hpp"
#include "engine/executor.hpp"
#include "engine/plan.hpp"
#include "engine/plan_api.hpp"
#include "formats/plugin_container.hpp"
#include "plugins/abi_struct.hpp"
#include "plugins/plugin_call.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace ckpt;
namespace fs = std::filesystem;

namespace {

TensorPtr f32(std::vector<int64_t> shape, std::vector<float> values)
{
    std::vector<std::byte> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return std::make_shared<MemoryTensor>(TensorInfo{DType::f32, std::move(shape)}, std::move(bytes));
}

std::vector<float> values(const TensorData& t)
{
    std::vector<std::byte> bytes = read_all(t);
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

/// The toy Hugging Face model of tests/data/toy, in memory.
std::vector<NamedTensor> toy_hf()
{
    return {{"a.proj.weight", f32({3, 2}, {1, 2, 3, 4, 5, 6})},
            {"a.proj.bias", f32({3}, {0.5f, -1.5f, 2.25f})},
            {"a.scratch", f32({2}, {7, 8})}};
}

struct Step {
    const host::ConverterEntry* converter;
    int direction;
    std::string src, tgt;
};

/// One conversion step the way the host runs it: config, then the plan, validated.
std::vector<NamedTensor> run_step(const Step& s, const std::string& model, std::vector<NamedTensor> inputs,
                                  Node& config_out, const Node& config_in)
{
    engine::install_plan_api();
    ckpt_convert_request req{};
    req.struct_size = sizeof req;
    req.direction = s.direction;
    req.model = ckpt_str{model.data(), model.size()};
    req.src_fmt = ckpt_str{s.src.data(), s.src.size()};
    req.tgt_fmt = ckpt_str{s.tgt.data(), s.tgt.size()};
    const ckpt_converter* c = s.converter->descriptor;
    config_out = Node::map();
    host::call_plugin(s.converter->plugin, "config", [&] {
        return c->convert_config(c->ctx, host::services(), &req, host::to_abi(&config_in), host::to_abi(&config_out));
    });
    engine::Plan plan(std::move(inputs));
    plan.set_owner(s.converter->plugin);
    host::call_plugin(s.converter->plugin, "plan", [&] {
        return c->plan_checkpoint(c->ctx, host::services(), &req, host::to_abi(&config_in), host::to_abi(&config_out),
                                  engine::to_abi(&plan));
    });
    engine::validate(plan, false);
    return plan.outputs();
}

const TensorData& find(const std::vector<NamedTensor>& ts, const std::string& name)
{
    for (const auto& t : ts)
        if (t.name == name)
            return *t.tensor;
    throw std::runtime_error("no output " + name);
}

} // namespace

TEST(AbiGrowth, TheHostStructsReallyGrew)
{
    EXPECT_EQ(CKPT_ABI_VERSION_MINOR, 3);
    EXPECT_GT(sizeof(ckpt_op), host::kAbi10Size<ckpt_op>);
    EXPECT_GT(sizeof(ckpt_plugin), host::kAbi10Size<ckpt_plugin>);
    EXPECT_GT(sizeof(ckpt_converter), host::kAbi10Size<ckpt_converter>);
    EXPECT_GT(sizeof(ckpt_container), host::kAbi10Size<ckpt_container>);
    EXPECT_GT(sizeof(ckpt_tensor_info), host::kAbi10Size<ckpt_tensor_info>);
    EXPECT_EQ(sizeof(ckpt_model), 120u); // 1.0: 56, 1.1: 80, 1.2: 112, + the test's field
}

TEST(AbiGrowth, APluginFromTheFrozen10HeadersLoadsAndConvertsThroughOpsAndAKernel)
{
    std::vector<host::PluginRecord> records{host::load_plugin(CKPTCONV_ABI10_PLUGIN)};
    ASSERT_TRUE(records[0].loaded) << records[0].reason;
    EXPECT_EQ(host::format_abi(records[0].abi_version), "1.0");
    // The host's copies end where the plugin's structs end: what 1.1, 1.2 and "1.3" appended is zero.
    const ckpt_model* m = records[0].descriptor->models[0];
    EXPECT_EQ(m->registry_name.data, nullptr);
    EXPECT_EQ(m->alias_registry_names, nullptr);
    EXPECT_EQ(m->last_release.data, nullptr);
    EXPECT_EQ(m->last_release_reason.data, nullptr);
    EXPECT_EQ(m->test_appended_field, 0u);
    EXPECT_EQ(records[0].descriptor->test_appended_field, 0u);
    EXPECT_EQ(m->converters[0]->test_appended_field, 0u);

    host::Registry reg = host::Registry::build(records);
    EXPECT_EQ(reg.registry_name("abi10-alias"), "abi10");
    const host::ModelEntry* model = reg.find("abi10");
    ASSERT_NE(model, nullptr);
    const host::ConverterEntry& conv = model->converters.at(0);

    Node hf_config = Node::map();
    hf_config.set("a_size", Node(int64_t{2}));
    Node cs_config;
    auto cs = run_step({&conv, 0, "hf", "cs-2.1"}, "abi10", toy_hf(), cs_config, hf_config);
    ASSERT_NE(cs_config.find("v_size"), nullptr);
    EXPECT_EQ(cs_config.find("v_size")->as_int(), 2);
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(values(find(cs, "v.proj.weight")), (std::vector<float>{1, 3, 5, 2, 4, 6}));    // transposed
    EXPECT_EQ(values(find(cs, "v.proj.bias")), (std::vector<float>{-0.5f, 1.5f, -2.25f})); // the kernel

    Node hf_back;
    auto hf = run_step({&conv, 1, "cs-2.1", "hf"}, "abi10", cs, hf_back, cs_config);
    EXPECT_EQ(hf_back.find("a_size")->as_int(), 2);
    EXPECT_EQ(values(find(hf, "a.proj.weight")), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(values(find(hf, "a.proj.bias")), (std::vector<float>{0.5f, -1.5f, 2.25f}));
}

TEST(AbiGrowth, AnAbi11PluginLoadsAndConvertsThroughItsPrivateFormat)
{
    std::vector<host::PluginRecord> records{host::load_plugin(CKPTCONV_ABI11_PLUGIN)};
    ASSERT_TRUE(records[0].loaded) << records[0].reason;
    EXPECT_EQ(host::format_abi(records[0].abi_version), "1.1");
    // Its model ends before 1.2's last release: the host reads none, so every release step is offered.
    EXPECT_EQ(records[0].descriptor->models[0]->last_release.data, nullptr);
    ASSERT_EQ(records[0].descriptor->container_count, 1u);
    EXPECT_EQ(records[0].descriptor->containers[0]->test_appended_field, 0u);
    host::Registry reg = host::Registry::build(records);
    const host::FormatEntry* acme = reg.private_format("acme-1");
    ASSERT_NE(acme, nullptr);
    const host::ModelEntry* model = reg.find("acme");
    ASSERT_NE(model, nullptr);
    const host::ConverterEntry& conv = model->converters.at(0); // hf <-> acme-1

    Node hf_config = Node::map();
    hf_config.set("a_size", Node(int64_t{2}));
    Node acme_config;
    auto to_acme = run_step({&conv, 0, "hf", "acme-1"}, "acme", toy_hf(), acme_config, hf_config);
    EXPECT_EQ(acme_config.find("acme_format")->as_int(), 1);

    // Through the plugin's writer (a host-sized sink) and reader (a host-sized source).
    ckpt::test::TempDir dir;
    write_plugin_container(*acme->container, dir / "model.acme", to_acme);
    Checkpoint back = read_plugin_container(*acme->container, dir / "model.acme");
    std::vector<NamedTensor> read;
    for (const auto& [k, v] : back.root.entries())
        read.push_back({k.as_string(), v.as_tensor()});
    ASSERT_EQ(read.size(), 3u);
    EXPECT_EQ(values(find(read, "a.proj.weight")), (std::vector<float>{1, 3, 5, 2, 4, 6}));

    Node hf_back;
    auto hf = run_step({&conv, 1, "acme-1", "hf"}, "acme", read, hf_back, acme_config);
    EXPECT_EQ(hf_back.find("acme_format"), nullptr);
    for (const auto& t : toy_hf())
        EXPECT_EQ(values(find(hf, t.name)), values(*t.tensor)) << t.name;
}
