// SPDX-License-Identifier: Apache-2.0
// Running a built plan: the unmatched-key check, --debug match lines, streaming outputs to a writer.
#pragma once

#include "engine/plan.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace ckpt::engine {

/// The Model Zoo's unmatched-key check (convert_helper): logs `Key not matched: <key>` as a
/// warning for every unmatched source tensor, then throws ConversionError("Unable to match all
/// keys. If you want to proceed by dropping keys that couldn't matched, rerun with
/// --drop-unmatched-keys") unless `drop_unmatched_keys`, in which case it logs the warning
/// "proceeding even though some keys weren't matched because of --drop-unmatched-keys".
/// Does nothing when every key matched.
void validate(const Plan& plan, bool drop_unmatched_keys);

/// Logs the plan's "Matched <old> -> <new>" lines at debug level (`--debug`).
void log_matches(const Plan& plan);

/// Bytes handed to a writer per call when a tensor has to be computed or read.
constexpr uint64_t kStreamChunk = uint64_t{4} << 20;

/// Receives consecutive chunks of one tensor, in ascending offset order. `data` is valid for the
/// call only.
using ChunkSink = std::function<void(uint64_t offset, const std::byte* data, uint64_t size)>;

/// Streams a tensor: when it has `data()` (a mapped source, a copy, a split on axis 0) the
/// writer gets pointers into the mapping without any copy, otherwise chunks of at most `chunk`
/// bytes read into one reused buffer. A zero-byte tensor produces no call.
void stream_tensor(const TensorData& tensor, const ChunkSink& sink, uint64_t chunk = kStreamChunk);

/// Receives the chunks of output `index`.
using OutputSink = std::function<void(size_t index, const NamedTensor& tensor, uint64_t offset,
                                      const std::byte* data, uint64_t size)>;

/// Streams every output of `outputs` in order (what a writer's `write` calls look like).
void execute(const std::vector<NamedTensor>& outputs, const OutputSink& sink, uint64_t chunk = kStreamChunk);

/// Sum of the outputs' byte sizes (for a progress bar).
uint64_t total_bytes(const std::vector<NamedTensor>& outputs);

} // namespace ckpt::engine
