// SPDX-License-Identifier: Apache-2.0
// What the hostile-input tests share: a small `.mdl` to tamper with, HDF5 surgery on it, the CLI
// with the `null` fixture plugin, and proof that no input file changed.
#pragma once

#include "core/node.hpp"
#include "test_support.hpp"

#include <hdf5.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ckpt::test {

/// Writes a layout-0.4 `.mdl` (uncompressed) holding `model.w` F32[4, 4] and `model.v` F32[4].
void write_small_mdl(const std::filesystem::path& path);

/// Opens `path` read-write with plain HDF5 (not ckptconv's driver) and replaces the root dataset
/// `name` by what `make` creates under the same name (the old one is moved to `name + ".old"`
/// first and its attributes are copied onto the new object afterwards when it is a dataset).
void replace_dataset(const std::filesystem::path& path, const std::string& name,
                     const std::function<void(hid_t file, const std::string& name)>& make);

/// Creates the F32[4, 4] dataset `name` in `file` with its bytes stored in the raw file `raw`
/// (H5Pset_external, 64 bytes at offset 0), not in `file`.
void create_external_dataset(hid_t file, const std::string& name, const std::string& raw);

/// Creates the F32[4, 4] virtual dataset `name` in `file`, mapping `source`'s dataset `source_name`.
void create_virtual_dataset(hid_t file, const std::string& name, const std::string& source,
                            const std::string& source_name);

/// Every regular file below `dir` with its bytes: taken before and after a run on bad input,
/// equal when no input was changed (the files are tiny; the bytes are their own hash).
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir);

/// The real CLI with the fixture plugins only.
RunResult ckptconv_cli(std::vector<std::string> args);

} // namespace ckpt::test
