// SPDX-License-Identifier: Apache-2.0
// The ckpt_plan_api C table called the way a plugin calls it: function pointers, statuses, messages.
#include "engine/plan_api.hpp"

#include "engine_test_util.hpp"
#include "plugins/host_services.hpp"

#include <ckptconv/cpp/plan.hpp>

#include <gtest/gtest.h>

using namespace ckpt;
using namespace ckpt::engine;
using namespace ckpt::engine::testing;

namespace {

ckpt_str S(const char* s) { return ckpt_str{s, std::strlen(s)}; }

std::vector<NamedTensor> inventory()
{
    return {
        {"transformer.h.0.attn.c_attn.weight", iota_f32({4, 12})},
        {"transformer.h.0.attn.masked_bias", f32({}, {-1e4f})},
        {"transformer.wte.weight", iota_f32({8, 4})},
    };
}

ckpt_op make(ckpt_op_kind kind, const char* out, const ckpt_value_id* ins, size_t n)
{
    ckpt_op op{};
    op.struct_size = sizeof op;
    op.kind = kind;
    op.output = S(out);
    op.inputs = ins;
    op.input_count = n;
    return op;
}

/// The message the plan API recorded for its last refusal (taken, so the channel is clear again).
std::string last_refusal() { return host::take_plugin_failure().host_refusal; }

int g_releases = 0;
void count_release(void*) noexcept { ++g_releases; }
ckpt_status noop_run(void*, const ckpt_kernel_io*) noexcept { return CKPT_OK; }

} // namespace

TEST(PlanApi, InventoryAndOpsThroughTheTable)
{
    Plan plan(inventory());
    const ckpt_plan_api* api = plan_api();
    ckpt_plan* p = to_abi(&plan);
    ASSERT_EQ(api->struct_size, sizeof(ckpt_plan_api));

    ASSERT_EQ(api->input_count(p), 3u);
    ckpt_tensor_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(api->input_info(p, 0, &info), CKPT_OK);
    EXPECT_EQ(std::string(info.name.data, info.name.size), "transformer.h.0.attn.c_attn.weight");
    EXPECT_EQ(info.dtype, CKPT_DTYPE_F32);
    ASSERT_EQ(info.rank, 2u);
    EXPECT_EQ(info.shape[0], 4);
    EXPECT_EQ(info.shape[1], 12);
    EXPECT_EQ(info.nbytes, 4u * 12u * 4u);
    ASSERT_EQ(api->input_info(p, 1, &info), CKPT_OK);
    EXPECT_EQ(info.rank, 0u);
    EXPECT_EQ(info.nbytes, 4u);
    EXPECT_EQ(api->input_info(p, 3, &info), CKPT_ERR_NOT_FOUND);
    EXPECT_NE(last_refusal().find("input index 3"), std::string::npos);

    ckpt_value_id w = 99;
    ASSERT_EQ(api->input(p, S("transformer.h.0.attn.c_attn.weight"), &w), CKPT_OK);
    EXPECT_EQ(w, 0u);
    ckpt_value_id wt = 0;
    ckpt_op t = make(CKPT_OP_TRANSPOSE, "", &w, 1);
    t.output = ckpt_str{nullptr, 0};
    ASSERT_EQ(api->add(p, &t, &wt), CKPT_OK);
    EXPECT_EQ(wt, 3u);
    ckpt_op s = make(CKPT_OP_SPLIT, "transformer_decoder.layers.0.self_attn.proj_k_dense_layer.weight", &wt, 1);
    s.index = 1;
    s.count = 3;
    ckpt_value_id k = 0;
    ASSERT_EQ(api->add(p, &s, &k), CKPT_OK);
    ASSERT_EQ(api->value_info(p, k, &info), CKPT_OK);
    EXPECT_EQ(std::string(info.name.data, info.name.size),
              "transformer_decoder.layers.0.self_attn.proj_k_dense_layer.weight");
    EXPECT_EQ(info.shape[0], 4);
    EXPECT_EQ(info.shape[1], 4);
    EXPECT_EQ(api->drop(p, S("transformer.h.0.attn.masked_bias")), CKPT_OK);
    api->note_match(p, S("transformer.h.0.attn.c_attn.weight"),
                    S("transformer_decoder.layers.0.self_attn.proj_k_dense_layer.weight"));

    EXPECT_EQ(plan.outputs().size(), 1u);
    EXPECT_EQ(plan.unmatched(), (std::vector<std::string>{"transformer.wte.weight"}));
    EXPECT_EQ(plan.match_lines().size(), 1u);
    EXPECT_TRUE(last_refusal().empty());
}

TEST(PlanApi, FailuresReturnStatusesAndRecordMessages)
{
    Plan plan(inventory());
    const ckpt_plan_api* api = plan_api();
    ckpt_plan* p = to_abi(&plan);
    ckpt_value_id id = 0;

    EXPECT_EQ(api->input(p, S("transformer.h.7.attn.c_attn.weight"), &id), CKPT_ERR_NOT_FOUND);
    EXPECT_NE(last_refusal().find("'transformer.h.7.attn.c_attn.weight'"), std::string::npos);

    ASSERT_EQ(api->input(p, S("transformer.h.0.attn.c_attn.weight"), &id), CKPT_OK);
    ckpt_op bad = make(CKPT_OP_SPLIT, "proj_q.weight", &id, 1);
    bad.axis = 1;
    bad.count = 5;
    EXPECT_EQ(api->add(p, &bad, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    const std::string split_refusal = last_refusal();
    EXPECT_NE(split_refusal.find("'proj_q.weight'"), std::string::npos) << split_refusal;
    EXPECT_NE(split_refusal.find("not divisible"), std::string::npos) << split_refusal;

    ckpt_op perm = make(CKPT_OP_TRANSPOSE, "w", &id, 1);
    const int64_t dup[] = {1, 1};
    perm.ints = dup;
    perm.int_count = 2;
    EXPECT_EQ(api->add(p, &perm, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_refusal().find("permutation"), std::string::npos);

    ckpt_op unknown = make(12345, "w", &id, 1);
    EXPECT_EQ(api->add(p, &unknown, nullptr), CKPT_ERR_UNSUPPORTED);
    EXPECT_NE(last_refusal().find("12345"), std::string::npos);

    ckpt_op small = make(CKPT_OP_COPY, "w", &id, 1);
    small.struct_size = 8;
    EXPECT_EQ(api->add(p, &small, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(api->add(p, nullptr, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    ckpt_op null_inputs = make(CKPT_OP_COPY, "w", nullptr, 1);
    EXPECT_EQ(api->add(p, &null_inputs, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    ckpt_op null_ints = make(CKPT_OP_RESHAPE, "w", &id, 1);
    null_ints.int_count = 3;
    EXPECT_EQ(api->add(p, &null_ints, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    ckpt_op many_ints = make(CKPT_OP_RESHAPE, "w", &id, 1);
    const int64_t ones[17] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    many_ints.ints = ones;
    many_ints.int_count = 17;
    EXPECT_EQ(api->add(p, &many_ints, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_refusal().find("at most 16"), std::string::npos);
    ckpt_op rows = make(CKPT_OP_ROW_PERMUTE, "w", &id, 1);
    rows.ints = ones;
    rows.int_count = 3;
    EXPECT_EQ(api->add(p, &rows, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_refusal().find("F32[4, 12] (4), found 3"), std::string::npos);
    ckpt_tensor_info tiny{};
    tiny.struct_size = 8;
    EXPECT_EQ(api->input_info(p, 0, &tiny), CKPT_ERR_INVALID_ARGUMENT);
    const ckpt_value_id missing = 500;
    ckpt_op dangling = make(CKPT_OP_COPY, "w", &missing, 1);
    EXPECT_EQ(api->add(p, &dangling, nullptr), CKPT_ERR_INVALID_ARGUMENT);

    ckpt_op ok = make(CKPT_OP_COPY, "w", &id, 1);
    EXPECT_EQ(api->add(p, &ok, nullptr), CKPT_OK);
    EXPECT_EQ(api->add(p, &ok, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_refusal().find("'w'"), std::string::npos);

    ckpt_tensor_info info{};
    info.struct_size = 4;
    EXPECT_EQ(api->value_info(p, 0, &info), CKPT_ERR_INVALID_ARGUMENT);
    info.struct_size = sizeof info;
    EXPECT_EQ(api->value_info(p, 4000, &info), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(api->value_info(p, 0, nullptr), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(api->drop(p, S("nope")), CKPT_ERR_NOT_FOUND);
    EXPECT_EQ(api->input(nullptr, S("x"), &id), CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(api->input_count(nullptr), 0u);
    api->note_match(nullptr, S("a"), S("b")); // must not crash
    EXPECT_EQ(plan.outputs().size(), 1u);
}

TEST(PlanApi, KernelsAreReleasedOnceWhenThePlanIsGoneEvenIfRejected)
{
    g_releases = 0;
    {
        Plan plan(inventory());
        const ckpt_plan_api* api = plan_api();
        ckpt_plan* p = to_abi(&plan);
        ckpt_value_id w = 0;
        ASSERT_EQ(api->input(p, S("transformer.wte.weight"), &w), CKPT_OK);
        ckpt_op k = make(CKPT_OP_KERNEL, "doubled", &w, 1);
        k.dtype = CKPT_DTYPE_F32;
        const int64_t shape[] = {8, 4};
        k.ints = shape;
        k.int_count = 2;
        k.kernel = ckpt_kernel{sizeof(ckpt_kernel), nullptr, noop_run, count_release};
        ASSERT_EQ(api->add(p, &k, nullptr), CKPT_OK);
        ckpt_op rejected = k;
        rejected.output = S("bad");
        rejected.dtype = CKPT_DTYPE_INVALID;
        EXPECT_EQ(api->add(p, &rejected, nullptr), CKPT_ERR_INVALID_ARGUMENT);
        ckpt_op no_run = k;
        no_run.output = S("no_run");
        no_run.kernel.run = nullptr;
        EXPECT_EQ(api->add(p, &no_run, nullptr), CKPT_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(g_releases, 0);
    }
    EXPECT_EQ(g_releases, 3);
}

TEST(PlanApi, InstalledTableWorksThroughTheSdkWrapper)
{
    install_plan_api();
    ASSERT_EQ(host::services()->plan, plan_api());
    Plan plan(inventory());
    sdk::Plan sp(host::services(), to_abi(&plan));
    EXPECT_EQ(sp.input_names().size(), 3u);
    const ckpt_value_id w = sp.input("transformer.h.0.attn.c_attn.weight");
    const ckpt_value_id wt = sp.transpose("", w);
    std::vector<ckpt_value_id> qkv;
    for (int i = 0; i < 3; ++i)
        qkv.push_back(sp.split("", wt, 0, i, 3));
    sp.transpose("transformer.h.0.attn.c_attn.weight", sp.concat("", qkv, 0));
    sp.drop("transformer.h.0.attn.masked_bias");
    sp.copy("lm_head.weight", sp.input("transformer.wte.weight"));
    EXPECT_THROW(sp.input("missing"), sdk::Error);
    EXPECT_THROW(sp.split("x", w, 0, 0, 3), sdk::Error);
    const std::vector<NamedTensor> out = plan.outputs();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(equal_bytes(*out[0].tensor, *plan.input_at(0).tensor));
    EXPECT_TRUE(plan.unmatched().empty());
}
