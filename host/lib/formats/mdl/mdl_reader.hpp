// SPDX-License-Identifier: Apache-2.0
// Internals of the `.mdl` reader shared by both HDF5 layouts: loading one stored leaf.
#pragma once

#include "formats/checkpoint.hpp"
#include "formats/mdl/h5_handle.hpp"
#include "formats/mdl/h5_tensor.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::detail {

/// Loads leaves from an open `.mdl` HDF5 file. Callers hold h5_mutex.
class Reader {
public:
    explicit Reader(std::shared_ptr<const H5File> file);
    const std::string& name() const { return m_name; }
    hid_t id() const { return m_file->id(); }

    bool has_dataset(const std::string& name) const;
    /// Opens a root dataset; InputError when it is missing or not a dataset.
    H5Id open_dataset(const std::string& name, const std::string& key) const;
    /// A lazy tensor over a numeric dataset (bf16 from 16-bit integers when `is_bf16`).
    TensorPtr tensor(hid_t dset, const std::string& name, const std::string& key, bool is_bf16) const;
    /// A Python bool/int/float stored as a 0-d dataset.
    Node scalar(hid_t dset, const std::string& name, const std::string& key) const;
    /// An ObjectH5Type value: dill pickle hex kept in Opaque.raw.
    Node object(const std::string& hex, const std::string& where) const;
    /// cstorch's DeferredFullTensor: a constant tensor described by attributes.
    Node full_tensor(hid_t dset, const std::string& name, const std::string& key) const;
    /// One layout-0.4 leaf by its `__H5_TYPE__`.
    Node leaf_04(const std::string& key, const std::string& name, int link_depth) const;
    /// Root attributes as text, except `__spec__` and per-key `*.__metadata__`.
    std::vector<std::pair<std::string, std::string>> root_attributes() const;

private:
    std::shared_ptr<const H5File> m_file;
    std::string m_name;
};

/// Layout 0.4: the tree from a hex-pickled TreeSpec and typed root datasets.
Node read_layout04(const Reader& r, const std::string& spec_hex, Checkpoint& cp);

} // namespace ckpt::detail
