// SPDX-License-Identifier: Apache-2.0
// Every plan op on small hand-computed tensors, lazy chunked reads, validation and bounded memory.
#include "core/element_convert.hpp"
#include "engine/ops.hpp"

#include "engine_test_util.hpp"

#include "plugins/host_services.hpp"
#include "plugins/plugin_call.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

using namespace ckpt;
using namespace ckpt::engine;
using namespace ckpt::engine::testing;

namespace {

OpPtr transpose(TensorPtr in, std::vector<int64_t> perm = {}, const char* label = "t")
{
    OpSpec s;
    s.kind = OpKind::transpose;
    s.inputs = {std::move(in)};
    s.ints = std::move(perm);
    return make_op(std::move(s), out_label(label));
}

OpPtr split(TensorPtr in, int64_t axis, int64_t index, int64_t count, const char* label = "s")
{
    OpSpec s;
    s.kind = OpKind::split;
    s.inputs = {std::move(in)};
    s.axis = axis;
    s.index = index;
    s.count = count;
    return make_op(std::move(s), out_label(label));
}

OpPtr concat(std::vector<TensorPtr> ins, int64_t axis, const char* label = "c")
{
    OpSpec s;
    s.kind = OpKind::concat;
    s.inputs = std::move(ins);
    s.axis = axis;
    return make_op(std::move(s), out_label(label));
}

OpPtr row_permute(TensorPtr in, std::vector<int64_t> rows, const char* label = "p")
{
    OpSpec s;
    s.kind = OpKind::row_permute;
    s.inputs = {std::move(in)};
    s.ints = std::move(rows);
    return make_op(std::move(s), out_label(label));
}

OpPtr reshape(TensorPtr in, std::vector<int64_t> shape, const char* label = "r")
{
    OpSpec s;
    s.kind = OpKind::reshape;
    s.inputs = {std::move(in)};
    s.ints = std::move(shape);
    return make_op(std::move(s), out_label(label));
}

OpPtr cast(TensorPtr in, DType d, const char* label = "cast")
{
    OpSpec s;
    s.kind = OpKind::cast;
    s.inputs = {std::move(in)};
    s.dtype = d;
    return make_op(std::move(s), out_label(label));
}

OpPtr scale(TensorPtr in, double f, const char* label = "scaled")
{
    OpSpec s;
    s.kind = OpKind::scale;
    s.inputs = {std::move(in)};
    s.scalar = f;
    return make_op(std::move(s), out_label(label));
}

OpPtr add(std::vector<TensorPtr> ins, const char* label = "sum")
{
    OpSpec s;
    s.kind = OpKind::add;
    s.inputs = std::move(ins);
    return make_op(std::move(s), out_label(label));
}

OpPtr generate(Generator g, DType d, std::vector<int64_t> shape, double scalar = 0, const char* label = "gen")
{
    OpSpec s;
    s.kind = OpKind::generate;
    s.generator = g;
    s.dtype = d;
    s.ints = std::move(shape);
    s.scalar = scalar;
    return make_op(std::move(s), out_label(label));
}

// Expects make_op to fail with `status` and a message containing every piece of `parts`.
template <class Fn>
void expect_plan_error(Fn&& fn, ckpt_status status, std::initializer_list<const char*> parts)
{
    try {
        fn();
        ADD_FAILURE() << "no PlanError";
    } catch (const PlanError& e) {
        EXPECT_EQ(e.status(), status) << e.what();
        for (const char* p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
    }
}

// Naive reference transpose over explicit strides.
std::vector<float> reference_transpose(const std::vector<float>& src, const std::vector<int64_t>& shape,
                                       const std::vector<int64_t>& perm)
{
    const size_t r = shape.size();
    std::vector<int64_t> stride(r, 1), out_shape(r);
    for (size_t k = r - 1; k > 0; --k)
        stride[k - 1] = stride[k] * shape[k];
    for (size_t k = 0; k < r; ++k)
        out_shape[k] = shape[static_cast<size_t>(perm[k])];
    std::vector<float> out(src.size());
    for (size_t e = 0; e < out.size(); ++e) {
        size_t rest = e;
        int64_t off = 0;
        for (size_t k = r; k-- > 0;) {
            const auto i = static_cast<int64_t>(rest % static_cast<size_t>(out_shape[k]));
            rest /= static_cast<size_t>(out_shape[k]);
            off += i * stride[static_cast<size_t>(perm[k])];
        }
        out[e] = src[static_cast<size_t>(off)];
    }
    return out;
}

} // namespace

TEST(Ops, CopyPassesTheMappingThrough)
{
    TensorPtr src = iota_f32({2, 3});
    OpPtr c = op1(OpKind::copy, src);
    EXPECT_EQ(c->data(), src->data());
    EXPECT_EQ(c->info(), src->info());
    EXPECT_TRUE(equal_bytes(*c, *src));
    expect_chunked_reads_match(*c);
}

TEST(Ops, ReshapeKeepsBytesAndInfersMinusOne)
{
    TensorPtr src = iota_f32({2, 6});
    OpPtr r = reshape(src, {3, -1});
    EXPECT_EQ(r->info().shape, (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(r->data(), src->data());
    expect_plan_error([&] { reshape(src, {5, 2}); }, CKPT_ERR_INVALID_ARGUMENT, {"'r'", "reshape", "12"});
    expect_plan_error([&] { reshape(src, {-1, -1}); }, CKPT_ERR_INVALID_ARGUMENT, {"reshape"});
}

TEST(Ops, Transpose2dByHand)
{
    // [[0 1 2] [3 4 5]]^T = [[0 3] [1 4] [2 5]]
    for (TensorPtr src : {iota_f32({2, 3}), unmapped(iota_f32({2, 3}))}) {
        OpPtr t = transpose(src);
        EXPECT_EQ(t->info().shape, (std::vector<int64_t>{3, 2}));
        EXPECT_EQ(t->data(), nullptr);
        EXPECT_EQ(values_of<float>(*t), (std::vector<float>{0, 3, 1, 4, 2, 5}));
        expect_chunked_reads_match(*t);
    }
}

TEST(Ops, TransposeGeneralAndBatchedMatchReference)
{
    const std::vector<int64_t> shape{2, 3, 4, 5};
    const std::vector<float> src = values_of<float>(*iota_f32(shape));
    const std::vector<std::vector<int64_t>> perms{
        {0, 1, 3, 2}, {0, 2, 1, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 0, 2, 3}, {0, 1, 2, 3}, {2, 3, 0, 1}, {-1, 0, 1, 2}};
    for (const auto& perm : perms) {
        std::vector<int64_t> p = perm;
        for (auto& a : p)
            if (a < 0)
                a += 4;
        const std::vector<float> want = reference_transpose(src, shape, p);
        for (TensorPtr in : {iota_f32(shape), unmapped(iota_f32(shape))}) {
            OpPtr t = transpose(in, perm);
            EXPECT_EQ(values_of<float>(*t), want) << ::testing::PrintToString(perm);
            expect_chunked_reads_match(*t);
        }
    }
}

TEST(Ops, TransposeIgnoresUnitAxes)
{
    // [1, 3, 1, 2] reversed is a plain 2-D transpose; [3, 1] -> [1, 3] is the same bytes.
    TensorPtr src = iota_f32({1, 3, 1, 2});
    OpPtr t = transpose(src);
    EXPECT_EQ(t->info().shape, (std::vector<int64_t>{2, 1, 3, 1}));
    EXPECT_EQ(values_of<float>(*t), (std::vector<float>{0, 2, 4, 1, 3, 5}));
    TensorPtr col = iota_f32({3, 1});
    OpPtr same = transpose(col);
    EXPECT_EQ(same->data(), col->data());
}

TEST(Ops, TransposeValidation)
{
    TensorPtr src = iota_f32({2, 3});
    expect_plan_error([&] { transpose(src, {0, 0}, "w.T"); }, CKPT_ERR_INVALID_ARGUMENT, {"'w.T'", "permutation", "twice"});
    expect_plan_error([&] { transpose(src, {1, 0, 2}, "w.T"); }, CKPT_ERR_INVALID_ARGUMENT, {"w.T", "rank 2"});
    expect_plan_error([&] { transpose(src, {0, 5}, "w.T"); }, CKPT_ERR_INVALID_ARGUMENT, {"w.T", "axis 5"});
}

TEST(Ops, SplitAxis0IsAZeroCopyRange)
{
    TensorPtr src = iota_f32({6, 2});
    OpPtr s = split(src, 0, 1, 3);
    EXPECT_EQ(s->info().shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(s->data(), src->data() + 4 * sizeof(float));
    EXPECT_EQ(values_of<float>(*s), (std::vector<float>{4, 5, 6, 7}));
    OpPtr lazy = split(unmapped(src), 0, 2, 3);
    EXPECT_EQ(lazy->data(), nullptr);
    EXPECT_EQ(values_of<float>(*lazy), (std::vector<float>{8, 9, 10, 11}));
    expect_chunked_reads_match(*lazy);
}

TEST(Ops, SplitInnerAxis)
{
    // [[0..5] [6..11]] split axis -1 into 3: chunk 1 = [[2 3] [8 9]]
    TensorPtr src = iota_f32({2, 6});
    OpPtr s = split(src, -1, 1, 3);
    EXPECT_EQ(s->info().shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(s->data(), nullptr);
    EXPECT_EQ(values_of<float>(*s), (std::vector<float>{2, 3, 8, 9}));
    expect_chunked_reads_match(*s);
}

TEST(Ops, SplitValidation)
{
    TensorPtr src = iota_f32({4, 6});
    expect_plan_error([&] { split(src, 0, 0, 3, "q.weight"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'q.weight'", "split", "4 is not divisible by 3"});
    expect_plan_error([&] { split(src, 1, 3, 3, "q.weight"); }, CKPT_ERR_INVALID_ARGUMENT, {"q.weight", "index 3"});
    expect_plan_error([&] { split(src, 2, 0, 2, "q.weight"); }, CKPT_ERR_INVALID_ARGUMENT, {"q.weight", "axis 2"});
    expect_plan_error([&] { split(src, 0, 0, 0, "q.weight"); }, CKPT_ERR_INVALID_ARGUMENT, {"q.weight", "count"});
}

TEST(Ops, ConcatAlongBothAxes)
{
    TensorPtr a = iota_f32({2, 2});                     // [[0 1] [2 3]]
    TensorPtr b = f32({1, 2}, {10, 11});                // [[10 11]]
    TensorPtr c = f32({2, 1}, {20, 21});                // [[20] [21]]
    EXPECT_EQ(values_of<float>(*concat({a, b}, 0)), (std::vector<float>{0, 1, 2, 3, 10, 11}));
    OpPtr cols = concat({a, unmapped(c), a}, 1);
    EXPECT_EQ(cols->info().shape, (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(values_of<float>(*cols), (std::vector<float>{0, 1, 20, 0, 1, 2, 3, 21, 2, 3}));
    expect_chunked_reads_match(*cols);
    OpPtr with_empty = concat({a, f32({0, 2}, {}), b}, 0);
    EXPECT_EQ(values_of<float>(*with_empty), (std::vector<float>{0, 1, 2, 3, 10, 11}));
    expect_plan_error([&] { concat({a, c}, 0, "fused"); }, CKPT_ERR_INVALID_ARGUMENT, {"'fused'", "F32[2, 1]"});
    expect_plan_error([&] { concat({a, cast(a, DType::f16)}, 0, "fused"); }, CKPT_ERR_INVALID_ARGUMENT, {"fused", "F16"});
}

TEST(Ops, Gpt2CAttnSplitAndBackIsByteExact)
{
    // HF Conv1D c_attn weight [E, 3E] -> CS q, k, v = split(W^T, axis 0) each [E, E]; back:
    // concat(q, k, v, axis 0)^T.
    const int64_t E = 4;
    TensorPtr w = iota_f32({E, 3 * E});
    TensorPtr wt = transpose(w, {}, "temporary");
    std::vector<TensorPtr> qkv;
    for (int64_t i = 0; i < 3; ++i)
        qkv.push_back(split(wt, 0, i, 3));
    // q[r][c] = W[c][r] for r, c < E; k takes columns E..2E-1.
    const std::vector<float> wv = values_of<float>(*w);
    const std::vector<float> k = values_of<float>(*qkv[1]);
    for (int64_t r = 0; r < E; ++r)
        for (int64_t c = 0; c < E; ++c)
            EXPECT_EQ(k[static_cast<size_t>(r * E + c)], wv[static_cast<size_t>(c * 3 * E + E + r)]);
    for (const auto& t : qkv) {
        EXPECT_EQ(t->info().shape, (std::vector<int64_t>{E, E}));
        expect_chunked_reads_match(*t);
    }
    OpPtr back = transpose(concat(qkv, 0), {1, 0});
    EXPECT_TRUE(equal_bytes(*back, *w));
    expect_chunked_reads_match(*back);

    // Bias [3E] -> three contiguous chunks.
    TensorPtr b = iota_f32({3 * E});
    OpPtr bv = split(b, 0, 2, 3);
    EXPECT_EQ(values_of<float>(*bv), (std::vector<float>{8, 9, 10, 11}));
    EXPECT_TRUE(equal_bytes(*concat({split(b, 0, 0, 3), split(b, 0, 1, 3), bv}, 0), *b));
}

namespace {

// HF rotate-half -> CS interleaved, per head: CS row 2j <- HF row j, CS row 2j+1 <- HF row r/2+j
// for j < r/2; rows r..hd-1 unchanged (mappings.md §2.2).
std::vector<int64_t> rotary_rows(int64_t heads, int64_t head_dim, int64_t rotary_dim)
{
    std::vector<int64_t> rows;
    for (int64_t h = 0; h < heads; ++h) {
        const int64_t base = h * head_dim;
        std::vector<int64_t> head(static_cast<size_t>(head_dim));
        std::iota(head.begin(), head.end(), base);
        for (int64_t j = 0; j < rotary_dim / 2; ++j) {
            head[static_cast<size_t>(2 * j)] = base + j;
            head[static_cast<size_t>(2 * j + 1)] = base + rotary_dim / 2 + j;
        }
        rows.insert(rows.end(), head.begin(), head.end());
    }
    return rows;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& p)
{
    std::vector<int64_t> inv(p.size());
    for (size_t i = 0; i < p.size(); ++i)
        inv[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
    return inv;
}

} // namespace

TEST(Ops, LlamaRotaryPermutationMhaAndGqa)
{
    const int64_t hd = 16, d_in = 3;
    for (int64_t heads : {int64_t{4}, int64_t{2}}) { // q/k of MHA (H=4), k of GQA (2 kv groups)
        const int64_t rows = heads * hd;
        TensorPtr w = iota_f32({rows, d_in});
        const std::vector<int64_t> perm = rotary_rows(heads, hd, hd);
        OpPtr cs = row_permute(w, perm, "proj_k_dense_layer.weight");
        // Same as reshape [H, 2, hd/2, d] -> permute(0, 2, 1, 3) -> reshape [H*hd, d].
        OpPtr via_transpose =
            reshape(transpose(reshape(w, {heads, 2, hd / 2, d_in}), {0, 2, 1, 3}), {rows, d_in});
        EXPECT_TRUE(equal_bytes(*cs, *via_transpose));
        // Row 1 of head 1 in CS is HF row hd/2 of head 1.
        const std::vector<float> v = values_of<float>(*cs);
        EXPECT_EQ(v[static_cast<size_t>((hd + 1) * d_in)], static_cast<float>((hd + hd / 2) * d_in));
        expect_chunked_reads_match(*cs);
        // CS -> HF applies the inverse permutation; the round trip is the identity.
        OpPtr hf = row_permute(cs, inverse(perm));
        EXPECT_TRUE(equal_bytes(*hf, *w));
        // Biases are 1-D: the same permutation on elements.
        TensorPtr bias = iota_f32({rows});
        OpPtr bias_cs = row_permute(unmapped(bias), perm);
        const std::vector<float> bv = values_of<float>(*bias_cs);
        for (size_t r = 0; r < perm.size(); ++r)
            EXPECT_EQ(bv[r], static_cast<float>(perm[r]));
    }
    // Partial rotary (r = 8 of 16): rows 8..15 of each head stay.
    const std::vector<int64_t> partial = rotary_rows(2, 16, 8);
    EXPECT_EQ(std::vector<int64_t>(partial.begin(), partial.begin() + 16),
              (std::vector<int64_t>{0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
    TensorPtr w = iota_f32({32, 2});
    EXPECT_TRUE(equal_bytes(*row_permute(row_permute(w, partial), inverse(partial)), *w));
}

TEST(Ops, RowPermuteValidation)
{
    TensorPtr w = iota_f32({3, 2});
    expect_plan_error([&] { row_permute(w, {0, 1}, "q"); }, CKPT_ERR_INVALID_ARGUMENT, {"'q'", "3"});
    expect_plan_error([&] { row_permute(w, {0, 1, 1}, "q"); }, CKPT_ERR_INVALID_ARGUMENT, {"'q'", "permutation"});
    expect_plan_error([&] { row_permute(w, {0, 1, 3}, "q"); }, CKPT_ERR_INVALID_ARGUMENT, {"'q'", "source row 3"});
    OpPtr identity = row_permute(w, {0, 1, 2});
    EXPECT_EQ(identity->data(), w->data());
}

TEST(Ops, ScaleInTheInputsFloatType)
{
    EXPECT_EQ(values_of<float>(*scale(f32({3}, {1.0f, -3.0f, 0.1f}), 0.5)), (std::vector<float>{0.5f, -1.5f, 0.05f}));
    // F32 multiplies by float(factor): 0.1f * float(0.1) rounds in float.
    EXPECT_EQ(values_of<float>(*scale(f32({1}, {0.1f}), 0.1))[0], 0.1f * 0.1f);
    // BF16: 1 * (1 + 2^-8) and 2 * (1 + 2^-8) are ties -> even; 3 * (1 + 2^-8) is 3/4 of a step -> up.
    TensorPtr b = tensor_of<uint16_t>(DType::bf16, {3}, {0x3f80, 0x4000, 0x4040});
    EXPECT_EQ(values_of<uint16_t>(*scale(b, 1.00390625)), (std::vector<uint16_t>{0x3f80, 0x4000, 0x4041}));
    EXPECT_EQ(values_of<uint16_t>(*scale(b, 0.5)), (std::vector<uint16_t>{0x3f00, 0x3f80, 0x3fc0}));
    // F16: 65504 * 2 overflows to inf.
    TensorPtr h = tensor_of<uint16_t>(DType::f16, {2}, {0x7bff, 0x3c00});
    EXPECT_EQ(values_of<uint16_t>(*scale(h, 2.0)), (std::vector<uint16_t>{0x7c00, 0x4000}));
    TensorPtr d = tensor_of<double>(DType::f64, {1}, {0.1});
    EXPECT_EQ(values_of<double>(*scale(d, 3.0))[0], 0.1 * 3.0);
    expect_chunked_reads_match(*scale(unmapped(iota_f32({7})), -2.0));
    expect_plan_error([&] { scale(tensor_of<int32_t>(DType::i32, {1}, {1}), 2.0, "ids"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'ids'", "I32"});
}

TEST(Ops, AddElementwise)
{
    TensorPtr a = f32({3}, {1, 2, 3}), b = f32({3}, {10, 20, 30});
    EXPECT_EQ(values_of<float>(*add({a, unmapped(b), a})), (std::vector<float>{12, 24, 36}));
    // BF16 1 + 2^-8 rounds to even (1.0); each addition rounds.
    TensorPtr x = tensor_of<uint16_t>(DType::bf16, {1}, {0x3f80});
    TensorPtr y = tensor_of<uint16_t>(DType::bf16, {1}, {0x3b80}); // 2^-8
    EXPECT_EQ(values_of<uint16_t>(*add({x, y})), (std::vector<uint16_t>{0x3f80}));
    EXPECT_EQ(values_of<uint16_t>(*add({x, y, y})), (std::vector<uint16_t>{0x3f80}));
    TensorPtr i = tensor_of<int8_t>(DType::i8, {2}, {127, -5});
    EXPECT_EQ(values_of<int8_t>(*add({i, i})), (std::vector<int8_t>{-2, -10}));
    TensorPtr bo = tensor_of<uint8_t>(DType::boolean, {3}, {0, 1, 0});
    TensorPtr bo2 = tensor_of<uint8_t>(DType::boolean, {3}, {0, 1, 1});
    EXPECT_EQ(values_of<uint8_t>(*add({bo, bo2})), (std::vector<uint8_t>{0, 1, 1}));
    expect_chunked_reads_match(*add({unmapped(iota_f32({9})), iota_f32({9})}));
    expect_plan_error([&] { add({a, f32({1, 3}, {1, 2, 3})}, "folded"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'folded'", "F32[3]", "F32[1, 3]"});
}

TEST(Ops, CastF32ToBf16AndBack)
{
    // 1 + 2^-8 (tie -> 1.0), 1 + 3 * 2^-8 (tie -> 1 + 2^-6), 0.1 -> 0x3dcd
    TensorPtr src = tensor_of<uint32_t>(DType::f32, {3}, {0x3f808000, 0x3f818000, 0x3dcccccd});
    OpPtr b = cast(unmapped(src), DType::bf16);
    EXPECT_EQ(b->info().dtype, DType::bf16);
    EXPECT_EQ(values_of<uint16_t>(*b), (std::vector<uint16_t>{0x3f80, 0x3f82, 0x3dcd}));
    EXPECT_EQ(values_of<uint32_t>(*cast(b, DType::f32)), (std::vector<uint32_t>{0x3f800000, 0x3f820000, 0x3dcd0000}));
    EXPECT_EQ(values_of<uint16_t>(*cast(src, DType::f16)), (std::vector<uint16_t>{0x3c04, 0x3c0c, 0x2e66}));
    expect_chunked_reads_match(*cast(src, DType::f64));
    expect_chunked_reads_match(*cast(unmapped(src), DType::f16));
    OpPtr same = cast(src, DType::f32);
    EXPECT_EQ(same->data(), src->data());
    expect_plan_error([&] { cast(src, DType::c64, "c"); }, CKPT_ERR_UNSUPPORTED, {"'c'", "C64"});
}

TEST(Ops, GenerateTrilUint8CausalMask)
{
    OpPtr m = generate(Generator::tril, DType::u8, {1, 1, 4, 4});
    EXPECT_EQ(values_of<uint8_t>(*m), (std::vector<uint8_t>{1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1}));
    expect_chunked_reads_match(*m);
    OpPtr wide = generate(Generator::tril, DType::f32, {2, 3});
    EXPECT_EQ(values_of<float>(*wide), (std::vector<float>{1, 0, 0, 1, 1, 0}));
    expect_plan_error([&] { generate(Generator::tril, DType::u8, {4}, 0, "h.0.attn.bias"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'h.0.attn.bias'", "rank"});
}

TEST(Ops, GenerateFillAndArange)
{
    OpPtr masked_bias = generate(Generator::fill, DType::f32, {}, -1e4);
    EXPECT_EQ(masked_bias->info().nbytes(), 4u);
    EXPECT_EQ(values_of<float>(*masked_bias), (std::vector<float>{-1e4f}));
    EXPECT_EQ(values_of<uint16_t>(*generate(Generator::fill, DType::bf16, {2}, 0.1)), (std::vector<uint16_t>{0x3dcd, 0x3dcd}));
    EXPECT_EQ(values_of<uint8_t>(*generate(Generator::fill, DType::f8_e4m3, {1}, 1.0)), (std::vector<uint8_t>{0x38}));
    EXPECT_EQ(values_of<int64_t>(*generate(Generator::arange, DType::i64, {1, 5})), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(values_of<uint16_t>(*generate(Generator::arange, DType::f16, {3})), (std::vector<uint16_t>{0, 0x3c00, 0x4000}));
    expect_chunked_reads_match(*generate(Generator::arange, DType::i32, {2, 5}));
    expect_plan_error([&] { generate(Generator::fill, DType::invalid, {2}, 0, "x"); }, CKPT_ERR_INVALID_ARGUMENT, {"'x'"});
    expect_plan_error([&] { generate(static_cast<Generator>(99), DType::f32, {2}, 0, "x"); }, CKPT_ERR_UNSUPPORTED,
                      {"'x'", "99"});
    expect_plan_error([&] { generate(Generator::fill, DType::f32, {-2}, 0, "x"); }, CKPT_ERR_INVALID_ARGUMENT, {"'x'"});
    expect_plan_error([&] { generate(Generator::fill, DType::f64, {INT64_MAX, 4}, 0, "x"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'x'", "2^64"});
}

TEST(Ops, InvFreqMatchesTorchFloat32)
{
    // 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)) with python3-torch 1.13.
    const std::vector<uint32_t> dim16 = {0x3f800000, 0x3ea1e89b, 0x3dcccccd, 0x3d0186e3,
                                         0x3c23d70a, 0x3b4f3e38, 0x3a83126f, 0x39a5cb60};
    EXPECT_EQ(values_of<uint32_t>(*generate(Generator::inv_freq, DType::f32, {8}, 10000)), dim16);
    // More bases and dims from torch: tests/data/engine/inv_freq_torch.txt ("dim base hex,hex,...").
    std::ifstream in(std::string(CKPTCONV_TEST_DATA) + "/engine/inv_freq_torch.txt");
    ASSERT_TRUE(in.good());
    int64_t dim = 0;
    double base = 0;
    std::string hex;
    int lines = 0;
    while (in >> dim >> base >> hex) {
        std::vector<uint32_t> want;
        for (size_t pos = 0; pos < hex.size();) {
            size_t end = hex.find(',', pos);
            if (end == std::string::npos)
                end = hex.size();
            want.push_back(static_cast<uint32_t>(std::stoul(hex.substr(pos, end - pos), nullptr, 16)));
            pos = end + 1;
        }
        EXPECT_EQ(values_of<uint32_t>(*generate(Generator::inv_freq, DType::f32, {dim / 2}, base)), want)
            << "dim " << dim << " base " << base;
        ++lines;
    }
    EXPECT_EQ(lines, 3);
    expect_plan_error([&] { generate(Generator::inv_freq, DType::f32, {8}, -1, "inv_freq"); }, CKPT_ERR_INVALID_ARGUMENT,
                      {"'inv_freq'", "base"});
    expect_plan_error([&] { generate(Generator::inv_freq, DType::i32, {8}, 10000, "inv_freq"); },
                      CKPT_ERR_INVALID_ARGUMENT, {"'inv_freq'", "I32"});
}

namespace {

struct KernelState {
    int runs = 0;
    int releases = 0;
    bool fail = false;
};

// out = in0 - in1 for F32 (a computation outside the fixed vocabulary).
ckpt_status subtract_kernel(void* ctx, const ckpt_kernel_io* io) noexcept
{
    auto* st = static_cast<KernelState*>(ctx);
    ++st->runs;
    if (st->fail) {
        host::services()->set_error(host::services()->ctx, ckpt_str{"denominator is zero", 19});
        return CKPT_ERR_INVALID_ARGUMENT;
    }
    const auto* a = static_cast<const float*>(io->input_data[0]);
    const auto* b = static_cast<const float*>(io->input_data[1]);
    auto* out = static_cast<float*>(io->output_data);
    for (uint64_t i = 0; i < io->output->nbytes / 4; ++i)
        out[i] = a[i] - b[i];
    return CKPT_OK;
}

void release_kernel(void* ctx) noexcept { ++static_cast<KernelState*>(ctx)->releases; }

OpPtr kernel_op(KernelState& st, std::vector<TensorPtr> ins, std::vector<int64_t> shape)
{
    OpSpec s;
    s.kind = OpKind::kernel;
    s.inputs = std::move(ins);
    s.dtype = DType::f32;
    s.ints = std::move(shape);
    s.kernel = std::make_shared<Kernel>(ckpt_kernel{sizeof(ckpt_kernel), &st, subtract_kernel, release_kernel});
    return make_op(std::move(s), "diff");
}

} // namespace

TEST(Ops, KernelRunsOncePerSequentialReadAndIsReleased)
{
    KernelState st;
    {
        OpPtr k = kernel_op(st, {iota_f32({6}), unmapped(f32({6}, {1, 1, 1, 1, 1, 1}))}, {6});
        std::vector<float> out(6);
        for (size_t i = 0; i < 6; i += 2)
            k->read(i * 4, reinterpret_cast<std::byte*>(out.data() + i), 8);
        EXPECT_EQ(out, (std::vector<float>{-1, 0, 1, 2, 3, 4}));
        EXPECT_EQ(st.runs, 1);
        EXPECT_GE(k->peak_scratch_bytes(), 3u * 24u);
        EXPECT_EQ(st.releases, 0);
    }
    EXPECT_EQ(st.releases, 1);
}

TEST(Ops, KernelFailureCarriesThePluginMessage)
{
    KernelState st;
    st.fail = true;
    OpPtr k = kernel_op(st, {iota_f32({2}), iota_f32({2})}, {2});
    try {
        read_all(*k);
        ADD_FAILURE() << "no exception";
    } catch (const host::PluginCallError& e) {
        // One host error for every plugin failure: the op, the status, the plugin's message.
        EXPECT_NE(std::string(e.what()).find("diff"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("(CKPT_ERR_INVALID_ARGUMENT): denominator is zero"), std::string::npos)
            << e.what();
        EXPECT_EQ(e.status(), CKPT_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(e.code(), ExitCode::conversion_failed);
    }
}

TEST(Ops, ReadOutsideTheTensorIsAnInputError)
{
    OpPtr t = transpose(iota_f32({2, 3}), {}, "w");
    std::byte buf[8];
    EXPECT_THROW(t->read(20, buf, 8), InputError);
    EXPECT_THROW(t->read(UINT64_MAX, buf, 2), InputError);
}

TEST(Ops, UnknownKindIsUnsupported)
{
    OpSpec s;
    s.kind = static_cast<OpKind>(42);
    s.inputs = {iota_f32({1})};
    expect_plan_error([&] { make_op(s, out_label("x")); }, CKPT_ERR_UNSUPPORTED, {"'x'", "42"});
    expect_plan_error([&] { op1(OpKind::copy, nullptr, "x"); }, CKPT_ERR_INVALID_ARGUMENT, {"x", "null"});
    OpSpec none;
    none.kind = OpKind::transpose;
    expect_plan_error([&] { make_op(none, "x"); }, CKPT_ERR_INVALID_ARGUMENT, {"x", "input"});
}

namespace {

// A 64 MiB F32 tensor whose element e is e, computed on read: nothing is held in memory, so the
// test measures only what the op allocates.
class CountingTensor final : public TensorData {
public:
    explicit CountingTensor(std::vector<int64_t> shape) : m_info{DType::f32, std::move(shape)} {}
    const TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        ASSERT_EQ(offset % 4, 0u);
        ASSERT_EQ(size % 4, 0u);
        for (uint64_t i = 0; i < size / 4; ++i) {
            const auto v = static_cast<float>(offset / 4 + i);
            std::memcpy(dst + i * 4, &v, 4);
        }
        max_read = std::max(max_read, size);
    }
    mutable uint64_t max_read = 0;

private:
    TensorInfo m_info;
};

} // namespace

TEST(Ops, Transposing64MiBKeepsScratchBounded)
{
    const int64_t n = 4096; // 4096 x 4096 F32 = 64 MiB
    auto src = std::make_shared<CountingTensor>(std::vector<int64_t>{n, n});
    OpPtr t = transpose(src);
    constexpr uint64_t kChunk = 1 << 20;
    std::vector<std::byte> buf(kChunk);
    // Output element (j, i) is source element i * n + j.
    for (uint64_t off = 0; off < t->info().nbytes(); off += kChunk) {
        t->read(off, buf.data(), kChunk);
        for (uint64_t e = 0; e < kChunk / 4; e += 997) {
            const uint64_t oe = off / 4 + e, j = oe / n, i = oe % n;
            float v;
            std::memcpy(&v, buf.data() + e * 4, 4);
            ASSERT_EQ(v, static_cast<float>(i * n + j)) << "element " << oe;
        }
    }
    EXPECT_GT(t->peak_scratch_bytes(), 0u);
    EXPECT_LE(t->peak_scratch_bytes(), kPieceBytes);
    EXPECT_LE(src->max_read, kPieceBytes);
    // A chunk that starts and ends mid-row still matches.
    std::vector<std::byte> odd(4099 * 4 + 3);
    t->read(4097 * 4 + 1, odd.data(), odd.size());
    float v;
    std::memcpy(&v, odd.data() + 3, 4); // element 4098 = (j 1, i 2)
    EXPECT_EQ(v, static_cast<float>(2 * n + 1));
}

TEST(Ops, CastAndAddOfLargeLazyTensorsUseBoundedPieces)
{
    auto src = std::make_shared<CountingTensor>(std::vector<int64_t>{1 << 22}); // 16 MiB
    OpPtr c = cast(src, DType::bf16);
    OpPtr a = add({src, src});
    std::vector<std::byte> out(src->info().nbytes());
    c->read(0, out.data(), c->info().nbytes());
    a->read(0, out.data(), a->info().nbytes());
    EXPECT_LE(c->peak_scratch_bytes(), kPieceBytes);
    EXPECT_LE(a->peak_scratch_bytes(), kPieceBytes);
    float v;
    std::memcpy(&v, out.data() + 4 * 12345, 4);
    EXPECT_EQ(v, 2.0f * 12345);
}

TEST(Ops, TiledTransposeOfMappedTensorsEveryElementSize)
{
    // Large enough for whole 32 x 32 tiles plus ragged edges; bytes differ per element.
    const int64_t R = 67, C = 97;
    for (DType d : {DType::u8, DType::f16, DType::f32, DType::f64, DType::c128}) {
        const uint64_t es = dtype_size(d);
        std::vector<std::byte> bytes(static_cast<size_t>(R * C) * es);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = std::byte{static_cast<uint8_t>(i * 131 + i / 251)};
        TensorPtr src = std::make_shared<MemoryTensor>(TensorInfo{d, {R, C}}, bytes);
        std::vector<std::byte> want(bytes.size());
        for (int64_t j = 0; j < C; ++j)
            for (int64_t i = 0; i < R; ++i)
                std::memcpy(want.data() + static_cast<size_t>(j * R + i) * es,
                            bytes.data() + static_cast<size_t>(i * C + j) * es, es);
        for (TensorPtr in : {src, unmapped(src)}) {
            OpPtr t = transpose(in);
            EXPECT_EQ(read_all(*t), want) << dtype_name(d);
            if (d == DType::f16)
                expect_chunked_reads_match(*t);
        }
    }
}

TEST(Ops, NestedUnmappedTransposesKeepTheirOwnScratch)
{
    // Each unmapped transpose reads its input into a per-thread scratch buffer; when that input is
    // itself an unmapped transpose, the inner read must not overwrite the outer one's buffer.
    // (Small: an unmapped transpose reads its input a row piece at a time, so a nested one reads
    // the innermost input element by element.)
    TensorPtr src = iota_f32({67, 97});
    OpPtr inner = transpose(unmapped(src));
    OpPtr outer = transpose(unmapped(inner));
    EXPECT_EQ(outer->info().shape, src->info().shape);
    EXPECT_TRUE(equal_bytes(*outer, *src));
}

TEST(Ops, ConcurrentReadsOnlyWhereNoStateIsKept)
{
    TensorPtr mapped = iota_f32({64, 48});
    EXPECT_TRUE(mapped->concurrent_reads());
    EXPECT_FALSE(unmapped(mapped)->concurrent_reads());
    EXPECT_TRUE(transpose(mapped)->concurrent_reads());                        // tiles from the mapping
    EXPECT_FALSE(transpose(unmapped(mapped))->concurrent_reads());             // reads its input
    EXPECT_TRUE(split(transpose(mapped), 0, 0, 2)->concurrent_reads());
    EXPECT_FALSE(split(transpose(unmapped(mapped)), 0, 0, 2)->concurrent_reads());
    EXPECT_FALSE(transpose(iota_f32({2, 3, 4}), {1, 0, 2})->concurrent_reads()); // gather caches
}

namespace {

// Rows 0, k, 2k, ... modulo n: a permutation when k and n are coprime.
std::vector<int64_t> rows_times(int64_t n, int64_t k)
{
    std::vector<int64_t> r(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        r[static_cast<size_t>(i)] = i * k % n;
    return r;
}

// Every box of `t` read with read_box (rows a few elements apart) equals the same box cut from
// one flat read, and so does every view offered.
void expect_boxes_match_flat_reads(const TensorData& t, const std::string& what)
{
    const std::vector<std::byte> full = read_all(t);
    const MatrixShape m = matrix_shape(t.info());
    const uint64_t es = dtype_size(t.info().dtype);
    const uint64_t rs[] = {0, 1, m.rows / 3, m.rows - 1}, cs[] = {0, 2, m.cols / 2, m.cols - 1};
    for (uint64_t r0 : rs)
        for (uint64_t c0 : cs)
            for (uint64_t h : {uint64_t{1}, uint64_t{5}, m.rows - r0})
                for (uint64_t w : {uint64_t{1}, uint64_t{7}, m.cols - c0}) {
                    h = std::min(h, m.rows - r0);
                    w = std::min(w, m.cols - c0);
                    const uint64_t stride = w + 3;
                    std::vector<std::byte> got(h * stride * es, std::byte{0xEE});
                    t.read_box(r0, c0, h, w, got.data(), stride);
                    for (uint64_t r = 0; r < h; ++r)
                        ASSERT_EQ(std::memcmp(got.data() + r * stride * es, full.data() + ((r0 + r) * m.cols + c0) * es,
                                              w * es),
                                  0)
                            << what << ": box at (" << r0 << ", " << c0 << ") of " << h << " x " << w << ", row " << r;
                    BoxView v;
                    if (!t.view_box(r0, c0, v))
                        continue;
                    ASSERT_GE(v.rows, 1u);
                    ASSERT_GE(v.cols, 1u);
                    ASSERT_LE(v.rows, m.rows - r0);
                    ASSERT_LE(v.cols, m.cols - c0);
                    for (uint64_t r = 0; r < v.rows; ++r)
                        ASSERT_EQ(std::memcmp(v.data + r * v.stride * es, full.data() + ((r0 + r) * m.cols + c0) * es,
                                              v.cols * es),
                                  0)
                            << what << ": view at (" << r0 << ", " << c0 << "), row " << r;
                }
}

} // namespace

TEST(Ops, BoxReadsAndViewsMatchFlatReadsThroughEveryRowMovingOp)
{
    // The same matrix mapped, unmapped, and stored in ragged chunks (views without data()).
    TensorPtr plain = iota_f32({60, 90});
    TensorPtr chunks = std::make_shared<ChunkStored>(*plain, 13, 24);
    for (TensorPtr src : {plain, unmapped(plain), chunks}) {
        const std::vector<std::byte> want_t = read_all(*transpose(plain));
        SCOPED_TRACE(src == plain ? "mapped" : src == chunks ? "chunked" : "unmapped");
        OpPtr t = transpose(src);
        EXPECT_EQ(read_all(*t), want_t);
        expect_chunked_reads_match(*t);
        const std::vector<std::pair<std::string, TensorPtr>> cases = {
            {"source", src},
            {"transpose", t},
            {"transpose of transpose", transpose(t)},
            {"split rows of a transpose", split(t, 0, 1, 3)},
            {"split columns of a transpose", split(t, 1, 2, 3)},
            {"split rows", split(src, 0, 1, 3)},
            {"split columns", split(src, 1, 0, 2)},
            {"split of a 3-D reshape", split(reshape(src, {3, 20, 90}), 1, 1, 2)},
            {"concat rows", concat({src, transpose(t), src}, 0)},
            {"concat columns", concat({src, transpose(t)}, 1)},
            {"concat of 3-D slabs", concat({reshape(src, {3, 20, 90}), reshape(transpose(t), {3, 20, 90})}, 1)},
            {"row permutation", row_permute(src, rows_times(60, 7))},
            {"row permutation of a transpose", row_permute(t, rows_times(90, 7))},
            {"row permutation of 3-D slabs", row_permute(reshape(src, {6, 10, 90}), rows_times(6, 5))},
            {"reshape keeping rows", reshape(src, {2, 30, 90})},
            {"reshape changing rows", reshape(src, {90, 60})},
            {"cast", cast(t, DType::f64)},
        };
        for (const auto& [what, tensor] : cases)
            expect_boxes_match_flat_reads(*tensor, what);
    }
}
