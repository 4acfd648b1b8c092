// SPDX-License-Identifier: Apache-2.0
// What the LoRA tests share: seeded factors, an independent float64 merge, the one-ulp comparison.
#include "lora_test_util.hpp"

#include "core/element_convert.hpp"

#include <cmath>
#include <fstream>

namespace ckpt::test::lora {

RunResult cli(const std::vector<std::string>& args)
{
    return run_cli(args, {"CKPT_PLUGIN_DEFAULT_DIR=" + std::string(CKPTCONV_BUILD_PLUGIN_DIR)});
}

TensorPtr seeded(DType dtype, std::vector<int64_t> shape, uint32_t seed, double scale)
{
    TensorInfo info{dtype, std::move(shape)};
    std::vector<std::byte> bytes(info.nbytes());
    uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
    const size_t es = dtype_size(dtype);
    for (uint64_t i = 0; i < info.numel(); ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const double u = static_cast<double>(state >> 11) / 9007199254740992.0; // [0, 1)
        store_double(dtype, (2 * u - 1) * scale, bytes.data() + i * es);
    }
    return std::make_shared<MemoryTensor>(std::move(info), std::move(bytes));
}

TensorPtr recast(const TensorPtr& t, DType dtype)
{
    TensorInfo info{dtype, t->info().shape};
    std::vector<std::byte> bytes(info.nbytes());
    const auto v = values(*t);
    for (size_t i = 0; i < v.size(); ++i)
        store_double(dtype, v[i], bytes.data() + i * dtype_size(dtype));
    return std::make_shared<MemoryTensor>(std::move(info), std::move(bytes));
}

std::vector<double> values(const TensorData& t)
{
    const auto bytes = read_all(t);
    const DType d = t.info().dtype;
    std::vector<double> out(t.info().numel());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = load_double(d, bytes.data() + i * dtype_size(d));
    return out;
}

std::vector<double> merged_reference(const TensorData& w, const std::vector<Factor>& factors)
{
    std::vector<double> out = values(w);
    const int64_t rows = w.info().shape[0], cols = w.info().shape[1];
    for (const Factor& f : factors) {
        const auto a = values(*f.a), b = values(*f.b);
        const int64_t r = f.a->info().shape[0];
        const int64_t a_cols = f.a->info().shape[1];
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                double dot = 0;
                for (int64_t k = 0; k < r; ++k)
                    dot += f.transposed ? b[j * r + k] * a[k * a_cols + i] : b[i * r + k] * a[k * a_cols + j];
                out[i * cols + j] += f.scale * dot;
            }
    }
    return out;
}

namespace {

/// Distance in representable values between two elements of dtype `d`.
int64_t ulps_between(DType d, double x, double y)
{
    std::byte bx[8], by[8];
    store_double(d, x, bx);
    store_double(d, y, by);
    auto ordered = [&](const std::byte* p) -> int64_t {
        const size_t es = dtype_size(d);
        uint64_t u = 0;
        std::memcpy(&u, p, es);
        const uint64_t sign = uint64_t{1} << (8 * es - 1);
        return (u & sign) ? -static_cast<int64_t>(u & (sign - 1)) : static_cast<int64_t>(u);
    };
    return std::llabs(ordered(bx) - ordered(by));
}

} // namespace

::testing::AssertionResult within_one_ulp(const TensorData& got, const std::vector<double>& expected,
                                          const std::string& name)
{
    const auto g = values(got);
    if (g.size() != expected.size())
        return ::testing::AssertionFailure() << name << ": " << g.size() << " elements, expected " << expected.size();
    for (size_t i = 0; i < g.size(); ++i) {
        // Rounding the exact value to the dtype is at most half an ulp away, so one ulp between the
        // result and the (torch-style) rounding of the exact value allows for that and no more.
        if (ulps_between(got.info().dtype, g[i], expected[i]) > 1)
            return ::testing::AssertionFailure()
                   << name << "[" << i << "] = " << g[i] << ", expected " << expected[i] << " (more than one ulp)";
    }
    return ::testing::AssertionSuccess();
}

void write_text(const std::filesystem::path& file, const std::string& text)
{
    std::ofstream(file, std::ios::binary) << text;
}

} // namespace ckpt::test::lora
