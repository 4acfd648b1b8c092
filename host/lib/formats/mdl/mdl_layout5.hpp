// SPDX-License-Identifier: Apache-2.0
// The `.mdl` HDF5 layout of cstorch 2.5+ (JSON spec, per-key JSON metadata, `__SUCCESS__`).
#pragma once

#include "formats/checkpoint.hpp"
#include "formats/mdl/mdl.hpp"

#include <filesystem>
#include <string>

namespace ckpt::detail {

class Reader;

/// Reads the tree of a cs-2.5+ file whose `__spec__` is `spec_json`.
Node read_layout5(const Reader& r, const std::string& spec_json, Checkpoint& cp);

/// Writes `root` in the cs-2.5+ layout. Callers hold h5_mutex.
void write_layout5(const std::filesystem::path& path, const Node& root, const MdlWriteOptions& options);

} // namespace ckpt::detail
