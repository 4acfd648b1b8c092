// SPDX-License-Identifier: Apache-2.0
// The Cerebras checkpoint container (`.mdl`): HDF5 layouts 0.4 and cs-2.5+, and torch pickles.
//
// A `.mdl` file is one of three things, told apart by content:
//  * Layout 0.4 (cstorch 2.0 … 2.4): an HDF5 file whose nested state dict was flattened with
//    torch's pytree. Every leaf is a root-level dataset named by the URL-quoted dotted key path
//    (`model.transformer_decoder.layers.0.norm1.weight`, `optimizer.state.0.step`) and carrying
//    an `__H5_TYPE__` attribute naming the handler that wrote it (tensors, scalars, strings,
//    None, dill-pickled objects, deferred tensors). bf16 is stored as 16-bit integers with
//    `is_bfloat16 = TRUE`. The tree structure lives in the root attribute `__spec__`: the hex of a
//    pickled `torch.utils._pytree.TreeSpec`. `__version__` is 0.4 and `__cstorch_version__` the
//    writing release. Non-scalar datasets may be LZ4 compressed (HDF5 filter 32004).
//  * Layout of cstorch 2.5+: still HDF5, but `__spec__` is JSON, each leaf has a JSON
//    `<key>.__metadata__` root attribute, tied tensors are stored once, and `__SUCCESS__` marks a
//    complete file (see mdl_layout5.cpp for what is and is not verified).
//  * cs-1.9 and earlier, or anything saved with torch.save: a PyTorch zip/pickle.
#pragma once

#include "formats/checkpoint.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ckpt {

/// True when `head` (the first bytes of a file; 64 KiB is plenty) holds the HDF5 superblock
/// signature at offset 0 or at a user-block offset (512, 1024, 2048, …).
bool is_hdf5(std::string_view head);

/// Reads a `.mdl` checkpoint. HDF5 files are opened read-only and stay open while any of the
/// returned tensors lives; tensor bytes are read only when asked (hyperslabs for partial reads).
/// `format` is "mdl-h5-0.4" (any pickled-spec layout, also 0.1–0.3), "mdl-h5-2.5" or
/// "mdl-pickle". Root attributes other than `__spec__` and per-key metadata go to `metadata`.
/// Keys named by the spec but absent from the file are logged as warnings and read as null, as
/// cstorch does. Throws InputError naming the file, the key and what was wrong.
/// Thread safety: HDF5 calls are serialised by a process-wide lock.
Checkpoint read_mdl(const std::filesystem::path& path);

struct MdlWriteOptions {
    bool compress = true;                 ///< LZ4 (filter 32004) on every non-scalar tensor
    std::string cstorch_version = "2.3.0"; ///< root attribute `__cstorch_version__`
    int layout = 4;                       ///< 4 = layout 0.4 (cs-2.0 … 2.4); 5 = cs-2.5+
};

/// Writes `root` (a map: `model`, `optimizer`, `__metadata__`, …) as a `.mdl` HDF5 file at
/// `path` (created or truncated; callers wrap it in AtomicOutput). Tensors are streamed in
/// bounded pieces. Tensors must have a dtype the layout can hold (not F8). Throws InputError.
void write_mdl(const std::filesystem::path& path, const Node& root, const MdlWriteOptions& options = {});

/// Writes `root` as a torch pickle `.mdl` (cs-1.9 and earlier) through the torch writer.
void write_mdl_pickle(const std::filesystem::path& path, const Node& root);

/// The Cerebras release that wrote `checkpoint`, as the Model Zoo's `cs-auto` finds it:
/// `root["__metadata__"][-1]["version"]` ("2.3.0" → "cs-2.3"). Without that entry, falls back
/// to the `__cstorch_version__` root attribute and says so in `*note` (when non-null). Returns
/// nullopt when neither is present; the CLI then prints the Model Zoo's message.
std::optional<std::string> detect_cs_release(const Checkpoint& checkpoint, std::string* note = nullptr);

/// The Model Zoo's error text when `cs-auto` finds no metadata (convert_checkpoint.py 2.3.0).
extern const char* const kCsAutoNoMetadataMessage;

} // namespace ckpt
