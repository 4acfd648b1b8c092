// SPDX-License-Identifier: Apache-2.0
// Hugging Face sharded checkpoints: the `*.index.json` reader and the Model Zoo's sharded writer.
//
// An index is {"metadata": {"total_size": N}, "weight_map": {"<tensor>": "<shard file>", ...}};
// the shards (`model-00001-of-00003.safetensors` or `pytorch_model-00001-of-00003.bin`) sit in the
// index's directory. The same layout serves safetensors and PyTorch shards.
#pragma once

#include "core/tensor.hpp"
#include "formats/checkpoint.hpp"
#include "formats/safetensors/safetensors_writer.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt {

/// Cheap sniff: `head` (the first few KiB of a file) starts, after whitespace, with a JSON object
/// and mentions "weight_map". Never throws.
bool is_hf_index(std::string_view head);

/// Opens one shard by content (the caller decides between safetensors and PyTorch).
using ShardOpener = std::function<Checkpoint(const std::filesystem::path&)>;

/// Reads a sharded checkpoint through its index. Every shard named by `weight_map` must be a
/// relative path inside the index's directory; all are checked to exist before any is opened,
/// then each is opened once through `open_shard` (in sorted file-name order). The root is a flat
/// map name -> tensor in weight_map order (tensors stay zero-copy: they keep their shard mapped).
/// `format` is the shards' format + "-sharded", `files` is the index then the shards' files,
/// `shard_of` maps each tensor to its shard's name as written in the index, `metadata` is the
/// first shard's metadata.
///
/// Errors (InputError naming the index and the shard): not JSON or no `weight_map` object, a
/// tensor listed twice, a shard path that is absolute or escapes the directory (`..`, symlinks),
/// a missing shard, shards of different formats, a shard lacking a tensor the index promises,
/// a non-tensor value, and a tensor present in a second shard besides the one the index names.
/// A tensor found in a shard but absent from the index is left out (the index is the authority, as
/// for transformers and the Model Zoo) and reported as a warning and in `notes`.
Checkpoint read_hf_index(const std::filesystem::path& index_json, const ShardOpener& open_shard);

/// How write_hf_sharded splits and names its output.
struct ShardOptions {
    /// The most bytes of tensor data per shard (`--hf-shard-size`; default 10GB as the Model Zoo).
    uint64_t max_shard_size = 10'000'000'000;
    /// Write `model-*.safetensors` shards and `model.safetensors.index.json` instead of
    /// `pytorch_model-*.bin` and `pytorch_model.bin.index.json`.
    bool safetensors = false;
    /// Lay tensors out inside each safetensors shard as `safetensors.torch.save_file` does
    /// (safetensors_library_order), making shards byte-identical to the Model Zoo's.
    bool library_order = true;
};

/// Parses a `--hf-shard-size` value: digits, then an optional unit among B, KB, MB, GB, TB (powers
/// of 1000) and KiB, MiB, GiB, TiB (powers of 1024), spelled exactly so ("1024" = 1024 bytes,
/// "100KB" = 100,000, "5GiB" = 5 * 2^30). Throws UsageError with the Model Zoo's wording
/// ("size '10XB' is not in a valid format. ...") for anything else, or on overflow.
uint64_t parse_size(std::string_view text);

/// What write_hf_sharded wrote.
struct ShardedWriteReport {
    std::vector<std::string> shard_files; // names inside `dir`, in order
    std::string index_file;               // name inside `dir`
    uint64_t total_size = 0;              // as written in the index
    /// Safetensors only: tied names not written (the index does not list them either).
    std::vector<TiedAlias> dropped_aliases;
};

/// Writes `tensors` as a sharded Hugging Face checkpoint into the existing directory `dir`,
/// exactly as the Model Zoo's StreamingShardedHFWriter splits it: tensors are taken in the given
/// order; a tensor of ceil(numel * bytes per element) bytes (a bool counts 1/8 byte) starts a new
/// shard when it would take the current one over `max_shard_size`, so a tensor larger than the
/// limit gets a shard of its own — and when that is the very first tensor, shard 1 is written
/// empty, as the Model Zoo does. Shards are `model-0000i-of-0000N.safetensors` (written with
/// write_safetensors and {"format": "pt"}) or `pytorch_model-0000i-of-0000N.bin` (written by
/// `write_bin_shard`, which receives the shard's path and tensors, ties included). Then the index
/// (`model.safetensors.index.json` / `pytorch_model.bin.index.json`) is written as Python's
/// `json.dumps(..., indent=4)`: total_size = the sum of those per-tensor sizes, weight_map in
/// tensor order, no trailing newline. Memory: one tensor chunk at a time for safetensors.
/// `progress` (optional) receives the data bytes written to safetensors shards as they go.
/// Throws InputError on write errors or invalid tensors (see write_safetensors); files already
/// written stay (callers write into an AtomicOutput directory).
ShardedWriteReport write_hf_sharded(
    const std::filesystem::path& dir, const std::vector<NamedTensor>& tensors, const ShardOptions& options,
    const std::function<void(const std::filesystem::path&, const std::vector<NamedTensor>&)>& write_bin_shard,
    const WriteProgress& progress = {});

/// The size the Model Zoo's sharder counts for a tensor: ceil(numel * element bytes), 1/8 byte
/// per bool. Throws InputError on overflow.
uint64_t hf_shard_weight_size(const TensorInfo& info);

} // namespace ckpt
