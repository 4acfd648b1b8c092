// SPDX-License-Identifier: Apache-2.0
// Writes a synthetic GPT-2-shaped checkpoint of about the requested size, tensor by tensor from a
// pseudo-random generator (never held in memory), as safetensors or PyTorch .bin.
//   ckptconv_bench_gen OUT.{safetensors|bin} SIZE_MIB [HIDDEN]
#include "core/error.hpp"
#include "formats/safetensors/safetensors_writer.hpp"
#include "formats/torch/torch_writer.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace {

/// A tensor whose bytes are a cheap deterministic function of (seed, offset).
class SyntheticTensor final : public ckpt::TensorData {
public:
    SyntheticTensor(ckpt::TensorInfo info, uint64_t seed) : m_info(std::move(info)), m_seed(seed) {}
    const ckpt::TensorInfo& info() const override { return m_info; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        for (uint64_t i = 0; i < size; ++i) {
            uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull ^ m_seed;
            x ^= x >> 29;
            dst[i] = static_cast<std::byte>(x & 0x3F); // small exponent bytes keep floats finite
        }
    }

private:
    ckpt::TensorInfo m_info;
    uint64_t m_seed;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::cerr << "usage: ckptconv_bench_gen OUT.{safetensors|bin} SIZE_MIB [HIDDEN]\n";
        return 2;
    }
    const std::string out = argv[1];
    const uint64_t target = std::strtoull(argv[2], nullptr, 10) << 20;
    const int64_t h = argc > 3 ? std::atoll(argv[3]) : 1024;
    std::vector<ckpt::NamedTensor> tensors;
    uint64_t total = 0, seed = 1;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        ckpt::TensorInfo info{ckpt::DType::f32, std::move(shape)};
        total += info.nbytes();
        tensors.push_back({name, std::make_shared<SyntheticTensor>(info, seed++)});
    };
    add("transformer.wte.weight", {50304, h});
    add("transformer.wpe.weight", {1024, h});
    for (int layer = 0; total < target; ++layer) {
        const std::string p = fmt::format("transformer.h.{}.", layer);
        add(p + "ln_1.weight", {h});
        add(p + "ln_1.bias", {h});
        add(p + "attn.c_attn.weight", {h, 3 * h});
        add(p + "attn.c_attn.bias", {3 * h});
        add(p + "attn.c_proj.weight", {h, h});
        add(p + "attn.c_proj.bias", {h});
        add(p + "ln_2.weight", {h});
        add(p + "ln_2.bias", {h});
        add(p + "mlp.c_fc.weight", {h, 4 * h});
        add(p + "mlp.c_fc.bias", {4 * h});
        add(p + "mlp.c_proj.weight", {4 * h, h});
        add(p + "mlp.c_proj.bias", {h});
    }
    add("transformer.ln_f.weight", {h});
    add("transformer.ln_f.bias", {h});
    try {
        if (out.size() > 4 && out.compare(out.size() - 4, 4, ".bin") == 0) {
            ckpt::Node root = ckpt::Node::map();
            for (const auto& t : tensors)
                root.append(ckpt::Node(t.name), ckpt::Node(t.tensor));
            ckpt::write_torch(out, root);
        } else {
            ckpt::write_safetensors(out, tensors, {{"format", "pt"}});
        }
    } catch (const ckpt::Error& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    std::cout << fmt::format("{}: {} tensors, {} bytes\n", out, tensors.size(), total);
    return 0;
}
