// SPDX-License-Identifier: Apache-2.0
// Running a built plan: unmatched-key check with the Model Zoo's wording, and chunked streaming.
#include "engine/executor.hpp"

#include "core/log.hpp"

#include <algorithm>

namespace ckpt::engine {

void validate(const Plan& plan, bool drop_unmatched_keys)
{
    const std::vector<std::string> unmatched = plan.unmatched();
    if (unmatched.empty())
        return;
    for (const std::string& key : unmatched)
        log::warning("Key not matched: {}", key);
    if (!drop_unmatched_keys)
        throw ConversionError("Unable to match all keys. If you want to proceed by dropping keys that couldn't "
                              "matched, rerun with --drop-unmatched-keys");
    log::warning("proceeding even though some keys weren't matched because of --drop-unmatched-keys");
}

void log_matches(const Plan& plan)
{
    for (const std::string& line : plan.match_lines())
        log::debug("{}", line);
}

void stream_tensor(const TensorData& tensor, const ChunkSink& sink, uint64_t chunk)
{
    const uint64_t n = tensor.info().nbytes();
    if (n == 0)
        return;
    chunk = std::max<uint64_t>(chunk, 1);
    if (const std::byte* p = tensor.data()) {
        for (uint64_t off = 0; off < n; off += chunk)
            sink(off, p + off, std::min(chunk, n - off));
        return;
    }
    std::vector<std::byte> buf(std::min(chunk, n));
    for (uint64_t off = 0; off < n; off += chunk) {
        const uint64_t len = std::min(chunk, n - off);
        tensor.read(off, buf.data(), len);
        sink(off, buf.data(), len);
    }
}

void execute(const std::vector<NamedTensor>& outputs, const OutputSink& sink, uint64_t chunk)
{
    for (size_t i = 0; i < outputs.size(); ++i) {
        const NamedTensor& t = outputs[i];
        stream_tensor(*t.tensor, [&](uint64_t off, const std::byte* data, uint64_t size) {
            sink(i, t, off, data, size);
        }, chunk);
    }
}

uint64_t total_bytes(const std::vector<NamedTensor>& outputs)
{
    uint64_t total = 0;
    for (const auto& t : outputs)
        total += t.tensor->info().nbytes();
    return total;
}

} // namespace ckpt::engine
