// SPDX-License-Identifier: Apache-2.0
// engine::Plan: inventory lookups, outputs and temporaries, matching, errors and --dry-run text.
#include "engine/plan.hpp"

#include "engine_test_util.hpp"

#include <gtest/gtest.h>

using namespace ckpt;
using namespace ckpt::engine;
using namespace ckpt::engine::testing;

namespace {

// A tiny GPT-2 layer inventory (E = 4).
std::vector<NamedTensor> gpt2_inputs()
{
    return {
        {"transformer.h.0.attn.c_attn.weight", iota_f32({4, 12})},
        {"transformer.h.0.attn.c_attn.bias", iota_f32({12})},
        {"transformer.h.0.attn.bias", iota_f32({1, 1, 4, 4})},
        {"transformer.wte.weight", iota_f32({8, 4})},
    };
}

OpRequest request(OpKind kind, std::string out, std::vector<ValueId> ins)
{
    OpRequest r;
    r.kind = kind;
    r.output = std::move(out);
    r.inputs = std::move(ins);
    return r;
}

template <class Fn>
std::string plan_error(Fn&& fn, ckpt_status status)
{
    try {
        fn();
    } catch (const PlanError& e) {
        EXPECT_EQ(e.status(), status) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no PlanError";
    return {};
}

} // namespace

TEST(Plan, BuildsOutputsInOrderWithoutTemporaries)
{
    Plan plan(gpt2_inputs());
    ASSERT_EQ(plan.input_count(), 4u);
    const ValueId w = plan.input("transformer.h.0.attn.c_attn.weight");
    EXPECT_EQ(w, 0u);
    OpRequest t = request(OpKind::transpose, "", {w});
    const ValueId wt = plan.add(t);
    const char* names[] = {"q", "k", "v"};
    for (int i = 0; i < 3; ++i) {
        OpRequest s = request(OpKind::split, std::string("transformer_decoder.layers.0.self_attn.proj_") + names[i] +
                                                 "_dense_layer.weight",
                              {wt});
        s.count = 3;
        s.index = i;
        plan.add(s);
    }
    const ValueId wte = plan.input("transformer.wte.weight");
    plan.add(request(OpKind::copy, "embedding_layer.word_embeddings.weight", {wte}));
    plan.drop("transformer.h.0.attn.bias");

    const std::vector<NamedTensor> out = plan.outputs();
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].name, "transformer_decoder.layers.0.self_attn.proj_q_dense_layer.weight");
    EXPECT_EQ(out[2].name, "transformer_decoder.layers.0.self_attn.proj_v_dense_layer.weight");
    EXPECT_EQ(out[0].tensor->info(), (TensorInfo{DType::f32, {4, 4}}));
    // A copy is the source tensor itself (a tie to the source survives).
    EXPECT_EQ(out[3].tensor, plan.input_at(3).tensor);
    EXPECT_EQ(plan.unmatched(), (std::vector<std::string>{"transformer.h.0.attn.c_attn.bias"}));
    EXPECT_TRUE(plan.is_matched(2));
    EXPECT_EQ(plan.value_info(wt).shape, (std::vector<int64_t>{12, 4}));
    EXPECT_EQ(plan.value_name(wt), "");
    EXPECT_EQ(plan.value_name(w), "transformer.h.0.attn.c_attn.weight");

    EXPECT_EQ(plan.describe(),
              "transformer_decoder.layers.0.self_attn.proj_q_dense_layer.weight F32[4, 4] = "
              "split(transpose(transformer.h.0.attn.c_attn.weight), axis=0, 0 of 3)\n"
              "transformer_decoder.layers.0.self_attn.proj_k_dense_layer.weight F32[4, 4] = "
              "split(transpose(transformer.h.0.attn.c_attn.weight), axis=0, 1 of 3)\n"
              "transformer_decoder.layers.0.self_attn.proj_v_dense_layer.weight F32[4, 4] = "
              "split(transpose(transformer.h.0.attn.c_attn.weight), axis=0, 2 of 3)\n"
              "embedding_layer.word_embeddings.weight F32[8, 4] = transformer.wte.weight\n");
}

TEST(Plan, DescribesEveryKindOfOp)
{
    Plan plan({{"a", iota_f32({2, 2})}, {"b", iota_f32({2, 2})}});
    const ValueId a = plan.input("a"), b = plan.input("b");
    OpRequest sum = request(OpKind::add, "", {a, b});
    const ValueId s = plan.add(sum);
    OpRequest sc = request(OpKind::scale, "", {s});
    sc.scalar = 0.5;
    OpRequest c = request(OpKind::cast, "half", {plan.add(sc)});
    c.dtype = DType::bf16;
    plan.add(c);
    OpRequest g = request(OpKind::generate, "h.0.attn.bias", {});
    g.generator = Generator::tril;
    g.dtype = DType::u8;
    g.ints = {1, 1, 2, 2};
    plan.add(g);
    OpRequest f = request(OpKind::generate, "h.0.attn.masked_bias", {});
    f.generator = Generator::fill;
    f.dtype = DType::f32;
    f.scalar = -1e4;
    plan.add(f);
    OpRequest r = request(OpKind::reshape, "flat", {a});
    r.ints = {4};
    plan.add(r);
    OpRequest p = request(OpKind::row_permute, "swapped", {b});
    p.ints = {1, 0};
    plan.add(p);
    OpRequest cc = request(OpKind::concat, "both", {a, b});
    cc.axis = 1;
    plan.add(cc);
    EXPECT_EQ(plan.describe(), "half BF16[2, 2] = cast(scale(add(a, b), factor=0.5), BF16)\n"
                               "h.0.attn.bias U8[1, 1, 2, 2] = tril()\n"
                               "h.0.attn.masked_bias F32[] = fill(value=-10000)\n"
                               "flat F32[4] = reshape(a, [4])\n"
                               "swapped F32[2, 2] = row_permute(b, rows=[1, 0])\n"
                               "both F32[2, 4] = concat(a, b, axis=1)\n");
}

TEST(Plan, Errors)
{
    Plan plan(gpt2_inputs());
    std::string msg = plan_error([&] { plan.input("transformer.h.9.attn.c_attn.weight"); }, CKPT_ERR_NOT_FOUND);
    EXPECT_NE(msg.find("'transformer.h.9.attn.c_attn.weight'"), std::string::npos) << msg;
    msg = plan_error([&] { plan.drop("nope"); }, CKPT_ERR_NOT_FOUND);
    EXPECT_NE(msg.find("'nope'"), std::string::npos) << msg;

    const ValueId wte = plan.input("transformer.wte.weight");
    plan.add(request(OpKind::copy, "lm_head.weight", {wte}));
    msg = plan_error([&] { plan.add(request(OpKind::copy, "lm_head.weight", {wte})); }, CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(msg.find("'lm_head.weight'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("twice"), std::string::npos) << msg;

    msg = plan_error([&] { plan.add(request(OpKind::copy, "x", {77})); }, CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("77"), std::string::npos) << msg;

    OpRequest bad = request(OpKind::split, "transformer_decoder.layers.0.self_attn.proj_q_dense_layer.bias",
                            {plan.input("transformer.h.0.attn.c_attn.bias")});
    bad.count = 5;
    msg = plan_error([&] { plan.add(bad); }, CKPT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(msg.find("'transformer_decoder.layers.0.self_attn.proj_q_dense_layer.bias'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("12 is not divisible by 5"), std::string::npos) << msg;

    plan_error([&] { plan.value_info(1000); }, CKPT_ERR_INVALID_ARGUMENT);
    // Failed adds leave no output behind.
    EXPECT_EQ(plan.outputs().size(), 1u);
}

TEST(Plan, UsingAnInputByIdMatchesIt)
{
    Plan plan(gpt2_inputs());
    plan.add(request(OpKind::copy, "embedding_layer.word_embeddings.weight", {3}));
    EXPECT_TRUE(plan.is_matched(3));
    EXPECT_EQ(plan.unmatched().size(), 3u);
}

TEST(Plan, DuplicateInputNamesAreBadInput)
{
    EXPECT_THROW(Plan({{"a", iota_f32({1})}, {"a", iota_f32({1})}}), InputError);
}

TEST(Plan, MatchLines)
{
    Plan plan(gpt2_inputs());
    plan.note_match("transformer.wte.weight", "embedding_layer.word_embeddings.weight");
    EXPECT_EQ(plan.match_lines(),
              (std::vector<std::string>{"Matched transformer.wte.weight -> embedding_layer.word_embeddings.weight"}));
}
