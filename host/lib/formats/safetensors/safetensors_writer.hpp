// SPDX-License-Identifier: Apache-2.0
// Writes single safetensors files by streaming tensors to disk in bounded memory.
#pragma once

#include "core/piece_writer.hpp"
#include "core/tensor.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

/// A name that shared its TensorData with an earlier name and was therefore not written
/// (safetensors cannot store one storage under two names; transformers drops the alias the same way).
struct TiedAlias {
    std::string alias; // the name left out
    std::string kept;  // the earlier name that holds the bytes
};

/// What write_safetensors did.
struct SafetensorsWriteReport {
    std::vector<TiedAlias> dropped_aliases;
    uint64_t file_size = 0;
};

/// Writes `tensors` to `path` (created; an existing file is an error) as one safetensors file.
///
/// - Order: tensors are laid out and listed in the header in the order given (callers choose;
///   safetensors_library_order() reproduces the order of the reference writer). The same input
///   always gives the same bytes.
/// - Header: `__metadata__` first with `metadata` in the order given (omitted when empty; pass
///   {{"format", "pt"}} for files transformers will load), compact JSON as serde_json writes it,
///   padded with spaces so the data section starts at a multiple of 8.
/// - Memory: tensors with `data()` are written straight from it; others are read in chunks of at
///   most 16 MiB. The whole model is never held in memory.
/// - Progress: `progress`, when set, is called after each chunk with the bytes written.
/// - Tied tensors (the same TensorPtr under several names) are written once under the first name;
///   later names are skipped and listed in the report.
/// Throws InputError naming the file and tensor for duplicate names, the reserved name
/// `__metadata__`, names or metadata that are not valid UTF-8, invalid dtypes, size overflow, a
/// tensor that fails to read, or a write error. A partial file may remain: callers write through
/// AtomicOutput.
SafetensorsWriteReport write_safetensors(const std::filesystem::path& path,
                                         const std::vector<NamedTensor>& tensors,
                                         const std::vector<std::pair<std::string, std::string>>& metadata,
                                         const WriteProgress& progress = {});

/// The order in which the reference writer (huggingface/safetensors `prepare`, used by
/// `safetensors.torch.save_file` and so by transformers and the Model Zoo) lays tensors out:
/// by dtype alignment, largest first, then by name (bytewise). With it every tensor is naturally
/// aligned and our files are byte-identical to the reference writer's for the same tensors.
std::vector<NamedTensor> safetensors_library_order(std::vector<NamedTensor> tensors);

} // namespace ckpt
