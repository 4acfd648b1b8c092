// SPDX-License-Identifier: Apache-2.0
// Low-rank updates folded into a base weight as a host kernel: float64 accumulation, one rounding.
#include "lora/lora_merge.hpp"

#include "core/element_convert.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace ckpt::lora {

namespace {

/// What the kernel knows besides its inputs (base, then A and B of each update, in order).
struct MergeSpec {
    std::vector<double> scales;
    std::vector<bool> transposed;
};

/// A 2-D tensor of the kernel's inputs read into float64: element (i, j) at data[i * cols + j].
struct Matrix {
    uint64_t rows = 0, cols = 0;
    std::vector<double> data;
};

Matrix load_matrix(const ckpt_tensor_info& info, const void* bytes, bool transpose)
{
    const DType d = static_cast<DType>(info.dtype);
    const uint64_t r = static_cast<uint64_t>(info.shape[0]), c = static_cast<uint64_t>(info.shape[1]);
    const size_t es = dtype_size(d);
    const auto* p = static_cast<const std::byte*>(bytes);
    Matrix m;
    m.rows = transpose ? c : r;
    m.cols = transpose ? r : c;
    m.data.resize(r * c);
    for (uint64_t i = 0; i < r; ++i)
        for (uint64_t j = 0; j < c; ++j) {
            const double v = load_double(d, p + (i * c + j) * es);
            m.data[transpose ? j * r + i : i * c + j] = v;
        }
    return m;
}

/// Rows handled together, and columns per tile: a tile of accumulators (4 x 256 doubles, 8 KiB) and
/// the right factor's matching row pieces stay in the L1 cache while the rank is summed over.
constexpr uint64_t kRowBlock = 4;
constexpr uint64_t kColTile = 256;

/// a[j] += s * x[j] over a whole tile: a fixed trip count and no aliasing let the compiler
/// vectorise it at -O2 (the general loop below it stays scalar).
inline void axpy_tile(double* __restrict a, const double* __restrict x, double s)
{
    for (uint64_t j = 0; j < kColTile; ++j)
        a[j] += s * x[j];
}

/// out = W + sum_u s_u * (L_u @ R_u), where L_u[rows, r] and R_u[r, cols] are each update's
/// factors in the orientation of W (B and A, or A^T and B^T when transposed).
ckpt_status run_merge(void* ctx, const ckpt_kernel_io* io)
{
    try {
        const auto& spec = *static_cast<const MergeSpec*>(ctx);
        const ckpt_tensor_info& w_info = *io->inputs[0];
        const DType wd = static_cast<DType>(w_info.dtype);
        const size_t es = dtype_size(wd);
        const uint64_t rows = static_cast<uint64_t>(w_info.shape[0]), cols = static_cast<uint64_t>(w_info.shape[1]);
        std::vector<Matrix> left, right;
        for (size_t u = 0; u < spec.scales.size(); ++u) {
            const bool t = spec.transposed[u];
            const size_t a = 1 + 2 * u, b = a + 1;
            left.push_back(load_matrix(*io->inputs[t ? a : b], io->input_data[t ? a : b], t));
            right.push_back(load_matrix(*io->inputs[t ? b : a], io->input_data[t ? b : a], t));
        }
        const auto* w = static_cast<const std::byte*>(io->input_data[0]);
        auto* out = static_cast<std::byte*>(io->output_data);
        std::vector<double> sum(kRowBlock * cols), acc(kRowBlock * kColTile);
        for (uint64_t i0 = 0; i0 < rows; i0 += kRowBlock) {
            const uint64_t n = std::min(kRowBlock, rows - i0);
            for (uint64_t i = 0; i < n; ++i)
                for (uint64_t j = 0; j < cols; ++j)
                    sum[i * cols + j] = load_double(wd, w + ((i0 + i) * cols + j) * es);
            for (size_t u = 0; u < left.size(); ++u) {
                const Matrix& L = left[u];
                const Matrix& R = right[u];
                const double s = spec.scales[u];
                for (uint64_t j0 = 0; j0 < cols; j0 += kColTile) {
                    const uint64_t m = std::min(kColTile, cols - j0);
                    std::fill(acc.begin(), acc.end(), 0.0);
                    for (uint64_t k = 0; k < L.cols; ++k) {
                        const double* rk = R.data.data() + k * cols + j0;
                        for (uint64_t i = 0; i < n; ++i) {
                            const double lik = L.data[(i0 + i) * L.cols + k];
                            double* ai = acc.data() + i * kColTile;
                            if (m == kColTile) {
                                axpy_tile(ai, rk, lik);
                                continue;
                            }
                            for (uint64_t j = 0; j < m; ++j)
                                ai[j] += lik * rk[j];
                        }
                    }
                    for (uint64_t i = 0; i < n; ++i)
                        for (uint64_t j = 0; j < m; ++j)
                            sum[i * cols + j0 + j] += s * acc[i * kColTile + j];
                }
            }
            for (uint64_t x = 0; x < n * cols; ++x)
                store_rounded_once(wd, sum[x], out + (i0 * cols + x) * es);
        }
        return CKPT_OK;
    } catch (const std::bad_alloc&) {
        return CKPT_ERR_NO_MEMORY;
    } catch (...) {
        return CKPT_ERR_INTERNAL;
    }
}

void release_merge(void* ctx) { delete static_cast<MergeSpec*>(ctx); }

/// float64 -> float32 rounding to odd: the truncated value, with its last bit set when inexact.
float round_to_odd_f32(double v)
{
    float f = static_cast<float>(v);
    if (!std::isfinite(f) || static_cast<double>(f) == v)
        return f;
    if (std::fabs(static_cast<double>(f)) > std::fabs(v))
        f = std::nextafter(f, 0.0f);
    return bits_float(float_bits(f) | 1u);
}

} // namespace

void store_rounded_once(DType d, double v, std::byte* dst)
{
    switch (d) {
    case DType::f64: std::memcpy(dst, &v, 8); return;
    case DType::f32: {
        const float f = static_cast<float>(v);
        std::memcpy(dst, &f, 4);
        return;
    }
    case DType::bf16: {
        const uint16_t h = std::isnan(v) ? f32_to_bf16(static_cast<float>(v)) : f32_to_bf16(round_to_odd_f32(v));
        std::memcpy(dst, &h, 2);
        return;
    }
    case DType::f16: {
        const uint16_t h = std::isnan(v) ? f32_to_f16(static_cast<float>(v)) : f32_to_f16(round_to_odd_f32(v));
        std::memcpy(dst, &h, 2);
        return;
    }
    default: throw ConversionError(fmt::format("internal error: store_rounded_once on {}", dtype_name(d)));
    }
}

void check_update(const engine::Plan& plan, const std::string& base_name, engine::ValueId base, const Update& u)
{
    const TensorInfo& w = plan.value_info(base);
    const TensorInfo& a = plan.value_info(u.a);
    const TensorInfo& b = plan.value_info(u.b);
    const std::string& a_name = plan.value_name(u.a);
    const std::string& b_name = plan.value_name(u.b);
    if (w.shape.size() != 2 || !is_float_dtype(w.dtype))
        throw_input("{}: LoRA factors {} and {} need a 2-D floating-point base weight; it is {}", base_name, a_name,
                    b_name, describe(w));
    for (const auto& [name, info] : {std::pair<const std::string*, const TensorInfo*>{&a_name, &a}, {&b_name, &b}})
        if (info->shape.size() != 2 || !is_float_dtype(info->dtype))
            throw_input("{}: a LoRA factor must be a 2-D floating-point tensor; it is {}", *name, describe(*info));
    const int64_t r = a.shape[0];
    if (r < 1)
        throw_input("{}: LoRA rank 0 (the factor is {}); a rank-0 adapter has nothing to merge", a_name, describe(a));
    if (b.shape[1] != r)
        throw_input("{}: LoRA rank mismatch: {} is {} (rank {}), {} is {} (rank {})", base_name, a_name, describe(a),
                    r, b_name, describe(b), b.shape[1]);
    const int64_t rows = u.transposed ? a.shape[1] : b.shape[0];
    const int64_t cols = u.transposed ? b.shape[0] : a.shape[1];
    if (rows != w.shape[0] || cols != w.shape[1])
        throw_input("{}: the LoRA factors {} {} and {} {} make a [{}, {}] update{}, but the base weight is {}",
                    base_name, a_name, describe(a), b_name, describe(b), rows, cols,
                    u.transposed ? " (transposed: fan-in first or an embedding)" : "", describe(w));
    if (!std::isfinite(u.scale))
        throw_input("{}: the LoRA scaling for {} is not finite ({})", base_name, a_name, u.scale);
}

engine::ValueId add_merge(engine::Plan& plan, const std::string& base_name, engine::ValueId base,
                          const std::vector<Update>& updates, const std::string& output)
{
    auto spec = std::make_unique<MergeSpec>();
    engine::OpRequest op;
    op.kind = engine::OpKind::kernel;
    op.output = output;
    op.inputs.push_back(base);
    for (const Update& u : updates) {
        check_update(plan, base_name, base, u);
        op.inputs.push_back(u.a);
        op.inputs.push_back(u.b);
        spec->scales.push_back(u.scale);
        spec->transposed.push_back(u.transposed);
    }
    const TensorInfo& w = plan.value_info(base);
    op.dtype = w.dtype;
    op.ints = w.shape;
    ckpt_kernel k{};
    k.struct_size = sizeof k;
    k.ctx = spec.release();
    k.run = run_merge;
    k.release = release_merge;
    op.kernel = std::make_shared<const engine::Kernel>(k);
    return plan.add(std::move(op));
}

} // namespace ckpt::lora
