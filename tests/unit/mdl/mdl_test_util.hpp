// SPDX-License-Identifier: Apache-2.0
// Helpers for the `.mdl` tests: tree comparison and direct HDF5 inspection (independent of the
// reader under test).
#pragma once

#include "core/node.hpp"
#include "core/tensor.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace ckpt::test {

/// Whole tensor bytes.
inline std::vector<std::byte> bytes_of(const TensorPtr& t)
{
    return read_all(*t);
}

/// Floats of an F32 tensor.
inline std::vector<float> floats_of(const TensorPtr& t)
{
    const auto b = bytes_of(t);
    std::vector<float> out(b.size() / 4);
    std::memcpy(out.data(), b.data(), out.size() * 4);
    return out;
}

/// Deep equality: same kinds, keys and order; tensors by dtype, shape and bytes; opaque objects
/// by their raw bytes. Reports the first difference with its path.
inline void expect_same_tree(const Node& a, const Node& b, const std::string& path = "")
{
    ASSERT_EQ(a.kind(), b.kind()) << "at '" << path << "': " << Node::kind_name(a.kind()) << " vs "
                                  << Node::kind_name(b.kind());
    switch (a.kind()) {
    case Node::Kind::map:
        ASSERT_EQ(a.entries().size(), b.entries().size()) << "at '" << path << "'";
        for (size_t i = 0; i < a.entries().size(); ++i) {
            const auto& [ka, va] = a.entries()[i];
            const auto& [kb, vb] = b.entries()[i];
            ASSERT_EQ(ka, kb) << "key " << i << " at '" << path << "'";
            expect_same_tree(va, vb, path + "." + Node::key_text(ka));
        }
        break;
    case Node::Kind::list:
    case Node::Kind::tuple:
        ASSERT_EQ(a.items().size(), b.items().size()) << "at '" << path << "'";
        for (size_t i = 0; i < a.items().size(); ++i)
            expect_same_tree(a.items()[i], b.items()[i], path + "." + std::to_string(i));
        break;
    case Node::Kind::tensor:
        EXPECT_EQ(describe(a.as_tensor()->info()), describe(b.as_tensor()->info())) << "at '" << path << "'";
        EXPECT_TRUE(equal_bytes(*a.as_tensor(), *b.as_tensor())) << "bytes differ at '" << path << "'";
        break;
    case Node::Kind::opaque:
        EXPECT_EQ(a.as_opaque().type, b.as_opaque().type) << "at '" << path << "'";
        EXPECT_EQ(a.as_opaque().raw, b.as_opaque().raw) << "at '" << path << "'";
        break;
    default:
        EXPECT_EQ(a, b) << "at '" << path << "'";
    }
}

/// {"model": {name: tensor, ...}}: the tree a `.mdl` of these tensors holds.
inline Node model_tree(const std::vector<std::pair<std::string, TensorPtr>>& tensors)
{
    Node model = Node::map();
    for (const auto& [name, t] : tensors)
        model.set(name, t);
    Node root = Node::map();
    root.set("model", model);
    return root;
}

/// Root-level link names of an HDF5 file, read with the C API.
inline std::vector<std::string> h5_root_names(const std::filesystem::path& p)
{
    std::vector<std::string> names;
    hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return names;
    hsize_t idx = 0;
    H5Literate(
        f, H5_INDEX_NAME, H5_ITER_INC, &idx,
        [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
            static_cast<std::vector<std::string>*>(data)->emplace_back(name);
            return 0;
        },
        &names);
    H5Fclose(f);
    return names;
}

/// Owns an hid_t in tests.
struct H5Closer {
    hid_t id;
    explicit H5Closer(hid_t i) : id(i) {}
    ~H5Closer()
    {
        if (id >= 0)
            H5Idec_ref(id);
    }
    H5Closer(const H5Closer&) = delete;
    H5Closer& operator=(const H5Closer&) = delete;
};

} // namespace ckpt::test
