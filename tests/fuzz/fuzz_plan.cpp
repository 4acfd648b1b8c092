// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary op sequences through the plan API, then chunked reads of every output.
#include "engine/plan_api.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

using namespace ckpt;
using namespace ckpt::engine;

namespace {

// Reads the fuzz input as a stream of small fields; zeros once exhausted.
class Bytes {
public:
    Bytes(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
    bool empty() const { return m_pos >= m_size; }
    uint8_t u8() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    int64_t small() { return static_cast<int8_t>(u8()) % 9; } // -8 .. 8

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

TensorPtr make_tensor(DType d, std::vector<int64_t> shape, uint8_t seed)
{
    TensorInfo info{d, std::move(shape)};
    std::vector<std::byte> bytes(info.nbytes());
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte{static_cast<uint8_t>(seed + i * 37)};
    return std::make_shared<MemoryTensor>(std::move(info), std::move(bytes));
}

constexpr uint64_t kMaxValueBytes = 1 << 20;

// A stand-in for plugin code: writes a pattern over the whole output.
ckpt_status fill_kernel(void*, const ckpt_kernel_io* io) noexcept
{
    std::memset(io->output_data, 0x5a, io->output->nbytes);
    return CKPT_OK;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Bytes in(data, size);
    Plan plan({
        {"w", make_tensor(DType::f32, {4, 12}, 1)},
        {"b", make_tensor(DType::bf16, {12}, 2)},
        {"h", make_tensor(DType::f16, {2, 3, 4}, 3)},
        {"i", make_tensor(DType::i64, {1, 6}, 4)},
        {"m", make_tensor(DType::u8, {1, 1, 3, 3}, 5)},
        {"s", make_tensor(DType::f64, {}, 6)},
        {"big", make_tensor(DType::f32, {40, 70}, 7)},
    });
    const ckpt_plan_api* api = plan_api();
    ckpt_plan* p = to_abi(&plan);
    const char* names[] = {"w", "b", "h", "i", "m", "s", "big", "nope"};
    for (const char* n : names) {
        ckpt_value_id id;
        if (in.u8() & 1)
            api->input(p, ckpt_str{n, std::strlen(n)}, &id);
    }

    const char* outs[] = {"", "o1", "o2", "o3", "o1"};
    for (int n = 0; n < 24 && !in.empty(); ++n) {
        ckpt_op op{};
        op.struct_size = sizeof op;
        op.kind = in.u8() % 12;
        const char* out = outs[in.u8() % 5];
        op.output = ckpt_str{out, std::strlen(out)};
        ckpt_value_id ins[4];
        op.input_count = in.u8() % 5;
        for (size_t k = 0; k < op.input_count; ++k)
            ins[k] = static_cast<ckpt_value_id>(in.u8() % (plan.value_count() + 1));
        op.inputs = ins;
        op.axis = in.small();
        op.index = in.small();
        op.count = in.small();
        int64_t ints[8];
        op.int_count = in.u8() % 9;
        uint64_t numel = 1;
        for (size_t k = 0; k < op.int_count; ++k) {
            ints[k] = in.small();
            numel *= ints[k] > 0 ? static_cast<uint64_t>(ints[k]) : 1;
        }
        op.ints = ints;
        op.scalar = static_cast<double>(static_cast<int8_t>(in.u8())) / 4.0;
        op.dtype = in.u8() % 19;
        op.generator = in.u8() % 6;
        if (op.kind == CKPT_OP_KERNEL) {
            if (numel > 4096)
                continue;
            op.kernel = ckpt_kernel{sizeof(ckpt_kernel), nullptr, fill_kernel, nullptr};
        }
        if (op.kind == CKPT_OP_GENERATE && numel > 4096)
            continue;
        ckpt_value_id id = 0;
        if (api->add(p, &op, &id) != CKPT_OK)
            continue;
        ckpt_tensor_info info{};
        info.struct_size = sizeof info;
        if (api->value_info(p, id, &info) != CKPT_OK || info.nbytes > kMaxValueBytes)
            break; // nothing larger may feed a later op, so reads stay bounded
    }

    for (const NamedTensor& t : plan.outputs()) {
        const uint64_t n = t.tensor->info().nbytes();
        if (n > kMaxValueBytes)
            continue;
        std::vector<std::byte> full = read_all(*t.tensor);
        std::vector<std::byte> part(n);
        const uint64_t chunk = 1 + in.u8() % 13;
        for (uint64_t off = 0; off < n; off += chunk)
            t.tensor->read(off, part.data() + off, std::min(chunk, n - off));
        if (part != full)
            __builtin_trap();
    }
    plan.describe();
    return 0;
}
