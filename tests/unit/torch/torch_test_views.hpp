// SPDX-License-Identifier: Apache-2.0
// Test helper: torch zips whose tensors are hand-made views (offsets, strides) of one storage.
#pragma once

#include "core/node.hpp"
#include "formats/torch/pickle.hpp"
#include "formats/torch/zip_writer.hpp"
#include "test_support.hpp"

#include <string>
#include <vector>

namespace ckpt {

// Writes a torch zip holding one float storage [0, 1, ..., n-1] and a data.pkl whose root maps
// names to views given as (offset, sizes, strides).
struct View {
    std::string name;
    int64_t offset;
    std::vector<int64_t> size, stride;
};

inline std::filesystem::path write_views(const test::TempDir& dir, int n, const std::vector<View>& views)
{
    pickle::PickleWriter w(2);
    w.proto();
    w.empty_dict();
    w.memo_put();
    w.mark();
    for (const auto& v : views) {
        w.string(v.name);
        w.memo_put();
        w.global("torch._utils", "_rebuild_tensor_v2");
        w.mark();
        w.mark();
        w.string_memoised("storage");
        w.global("torch", "FloatStorage");
        w.string_memoised("0");
        w.string_memoised("cpu");
        w.integer(n);
        w.tuple_from_mark();
        w.binpersid();
        w.integer(v.offset);
        Node size = Node::tuple(), stride = Node::tuple();
        for (auto s : v.size)
            size.push_back(Node(s));
        for (auto s : v.stride)
            stride.push_back(Node(s));
        pickle::write_value(w, size);
        pickle::write_value(w, stride);
        w.boolean(false);
        w.global("collections", "OrderedDict");
        w.empty_tuple();
        w.reduce();
        w.tuple_from_mark();
        w.reduce();
        w.memo_put();
    }
    w.setitems();
    w.stop();
    std::string storage;
    for (int i = 0; i < n; ++i) {
        const float f = static_cast<float>(i);
        storage.append(reinterpret_cast<const char*>(&f), 4);
    }
    const auto path = dir / "views.pt";
    TorchZipWriter z(path);
    z.record("views/data.pkl", w.take());
    z.record("views/data/0", storage);
    z.record("views/version", "3\n");
    z.finish();
    return path;
}

} // namespace ckpt
