// SPDX-License-Identifier: Apache-2.0
// Small tensor builders shared by the safetensors tests.
#pragma once

#include "core/node.hpp"
#include "core/tensor.hpp"
#include "formats/checkpoint.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ckpt::test {

/// Deterministic, position- and seed-dependent bytes (so swapped tensors are caught).
inline std::vector<std::byte> pattern_bytes(uint64_t n, uint32_t seed)
{
    std::vector<std::byte> b(n);
    uint32_t x = seed * 2654435761u + 12345u;
    for (auto& v : b) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<std::byte>(x >> 24);
    }
    return b;
}

inline TensorPtr make_tensor(DType dtype, std::vector<int64_t> shape, uint32_t seed)
{
    TensorInfo info{dtype, std::move(shape)};
    auto bytes = pattern_bytes(info.nbytes(), seed);
    return std::make_shared<MemoryTensor>(std::move(info), std::move(bytes));
}

/// A tensor without `data()`: forces writers onto the chunked `read()` path.
class ReadOnlyTensor final : public TensorData {
public:
    explicit ReadOnlyTensor(TensorPtr inner) : m_inner(std::move(inner)) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        ++m_reads;
        m_inner->read(offset, dst, size);
    }
    mutable int m_reads = 0;

private:
    TensorPtr m_inner;
};

/// Flat checkpoint root -> named tensors, in order.
inline std::vector<NamedTensor> named_tensors(const Checkpoint& ck)
{
    std::vector<NamedTensor> out;
    for (const auto& [k, v] : ck.root.entries())
        out.push_back({Node::key_text(k), v.as_tensor()});
    return out;
}

} // namespace ckpt::test
