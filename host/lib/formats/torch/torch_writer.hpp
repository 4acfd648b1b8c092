// SPDX-License-Identifier: Apache-2.0
// Writes torch.save files (zip format) laid out exactly as torch 1.13-2.0 writes them.
#pragma once

#include "core/node.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace ckpt {

struct TorchWriteOptions {
    /// Folder inside the zip; empty = the file's stem, as torch.save uses for a path.
    std::string archive_name;
    /// How a TensorPtr that appears a second time is written. false (default): a new
    /// `_rebuild_tensor_v2` call over the same storage record — what `torch.save(model.state_dict())`
    /// writes for tied weights, byte-identical to transformers' files. true: a memo get of the
    /// first tensor object (BINGET), what torch.save writes when one tensor object is saved twice.
    /// Both load as one shared storage.
    bool memoize_ties = false;
    /// Which maps become `collections.OrderedDict` instead of a plain dict (depth 0 = the root).
    /// Default: none (transformers' state dicts are plain dicts).
    std::function<bool(const Node& map, size_t depth)> ordered_dict;
};

/// Writes `root` to `path` as torch.save would: `<archive>/data.pkl` (pickle protocol 2), one
/// `<archive>/data/<key>` record per distinct tensor in first-seen order (keys "0", "1", ...;
/// records sorted by key as text), then `<archive>/version` = "3\n"; every record stored, its
/// data 64-byte aligned through an "FB" local extra field, followed by a data descriptor; zip64
/// end records always. Tensor bytes are streamed in bounded chunks. Dtypes without a legacy
/// storage class (F8, U16, U32, U64) use `_rebuild_tensor_v3` over a `torch.UntypedStorage`.
/// Throws InputError (output not writable, a tensor that cannot be read) naming the file.
void write_torch(const std::filesystem::path& path, const Node& root, const TorchWriteOptions& options = {});

} // namespace ckpt
