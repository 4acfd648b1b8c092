// SPDX-License-Identifier: Apache-2.0
// Reads torch.save checkpoints (zip format, and the legacy pre-1.6 format) without Python.
//
// A torch.save zip holds `<archive>/data.pkl`, a pickle of the saved object in which every
// tensor is a call of a torch rebuild function (`torch._utils._rebuild_tensor_v2` and friends)
// over a storage named by a persistent id `('storage', <storage type>, key, location, numel)`;
// the storage's bytes are the record `<archive>/data/<key>`. Sizes, strides and offsets are in
// elements. The legacy format is five consecutive pickles (magic number, protocol, sys info,
// object, storage keys) followed by each storage as an 8-byte element count and raw bytes.
#pragma once

#include "formats/checkpoint.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace ckpt {

/// True when `head` (the first bytes of a file, at least 4) starts a zip archive ("PK\x03\x04"),
/// as torch.load decides. Does not prove the zip is a torch file.
bool is_torch_zip(std::string_view head);

/// True when `head` (at least 16 bytes) starts a legacy torch.save file (the pickled magic
/// number 0x1950a86a20f9469cfc6c).
bool is_torch_legacy(std::string_view head);

/// Reads a torch.save file (zip or legacy) by memory-mapping it. Tensors are zero-copy spans of
/// the mapping when contiguous, strided gathers otherwise; they keep the mapping alive. The same
/// tensor (same storage, offset, shape and strides) referenced twice yields the same TensorPtr,
/// so ties are visible by pointer identity. Non-tensor values stay in the Node tree; objects the
/// machine does not interpret are Opaque. format = "pytorch" (or "pytorch-legacy").
/// Throws InputError naming the file for anything malformed, refused or unsupported.
Checkpoint read_torch(const std::filesystem::path& path);

/// Same as read_torch over bytes already in memory; `owner` keeps them alive for the tensors.
/// `name` is used in messages. (Also the fuzzing entry point.)
Checkpoint read_torch_buffer(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                             const std::string& name);

} // namespace ckpt
