// SPDX-License-Identifier: Apache-2.0
// The LZ4 HDF5 filter (id 32004) that Cerebras checkpoints use, built into the host.
#pragma once

namespace ckpt::detail {

/// HDF5's registered id of hdf5plugin's LZ4 filter.
constexpr int kLz4FilterId = 32004;

/// Registers the filter with the process's libhdf5 (replacing a dynamically loaded plugin of the
/// same id, if any). Call with h5_mutex held. Returns false if HDF5 refused.
bool register_lz4_filter();

} // namespace ckpt::detail
