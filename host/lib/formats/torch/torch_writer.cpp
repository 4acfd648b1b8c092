// SPDX-License-Identifier: Apache-2.0
// Writes Node trees with tensors as torch.save zip files (miniz layout, 64-byte aligned records).
#include "formats/torch/torch_writer.hpp"

#include "core/error.hpp"
#include "formats/torch/pickle.hpp"
#include "formats/torch/torch_dtypes.hpp"
#include "formats/torch/zip_writer.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

namespace ckpt {

namespace {

struct StorageSlot {
    std::string key;
    TensorPtr tensor;
    std::optional<uint32_t> memo; // memo index of the rebuilt tensor object
};

} // namespace

void write_torch(const std::filesystem::path& path, const Node& root, const TorchWriteOptions& options)
{
    const std::string archive = options.archive_name.empty() ? path.stem().string() : options.archive_name;
    if (archive.empty() || archive.find('/') != std::string::npos)
        throw_input("{}: '{}' cannot be a torch archive name", path.string(), archive);

    std::vector<StorageSlot> slots;
    std::unordered_map<const TensorData*, size_t> slot_of;

    pickle::ValueOptions vo;
    vo.ordered_dict = options.ordered_dict;
    vo.tensor = [&](pickle::PickleWriter& w, const TensorPtr& t) {
        if (!t)
            throw_input("{}: a null tensor cannot be saved", path.string());
        auto found = slot_of.find(t.get());
        if (found != slot_of.end() && options.memoize_ties && slots[found->second].memo) {
            w.memo_get(*slots[found->second].memo);
            return;
        }
        size_t slot;
        if (found == slot_of.end()) {
            slot = slots.size();
            slots.push_back(StorageSlot{std::to_string(slots.size()), t, std::nullopt});
            slot_of.emplace(t.get(), slot);
        } else {
            slot = found->second;
        }
        const TensorInfo& info = t->info();
        const std::string_view storage = torch_storage_name(info.dtype);
        const bool v3 = storage.empty();
        if (v3 && torch_dtype_name(info.dtype).empty())
            throw_input("{}: tensor {} has a dtype torch cannot store", path.string(), describe(info));
        const uint64_t numel = info.numel();

        w.global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
        w.mark();
        // Persistent id ('storage', type, key, location, numel) — numel in bytes when untyped.
        w.mark();
        w.string_memoised("storage");
        w.global("torch", v3 ? std::string_view("UntypedStorage") : storage);
        w.string_memoised(slots[slot].key);
        w.string_memoised("cpu");
        w.integer(static_cast<int64_t>(v3 ? info.nbytes() : numel));
        w.tuple_from_mark();
        w.memo_put();
        w.binpersid();
        w.integer(0); // storage offset
        Node size = Node::tuple();
        Node stride = Node::tuple();
        std::vector<int64_t> strides(info.shape.size());
        int64_t s = 1;
        for (size_t d = info.shape.size(); d-- > 0;) {
            strides[d] = s;
            s *= std::max<int64_t>(info.shape[d], 1);
        }
        for (size_t d = 0; d < info.shape.size(); ++d) {
            size.push_back(Node(info.shape[d]));
            stride.push_back(Node(strides[d]));
        }
        pickle::write_value(w, size);
        pickle::write_value(w, stride);
        w.boolean(false); // requires_grad
        w.global("collections", "OrderedDict"); // backward hooks: OrderedDict()
        w.empty_tuple();
        w.reduce();
        w.memo_put();
        if (v3)
            w.global("torch", torch_dtype_name(info.dtype));
        w.tuple_from_mark();
        w.memo_put();
        w.reduce();
        const uint32_t memo = w.memo_put();
        if (!slots[slot].memo)
            slots[slot].memo = memo;
    };
    const std::string data_pkl = pickle::pickle_value(root, 2, vo);

    TorchZipWriter zip(path);
    zip.record(archive + "/data.pkl", data_pkl);
    std::vector<const StorageSlot*> order;
    for (const auto& s : slots)
        order.push_back(&s);
    // torch.save writes storages sorted by key as text ("0", "1", "10", "11", ..., "2").
    std::sort(order.begin(), order.end(), [](const StorageSlot* a, const StorageSlot* b) { return a->key < b->key; });
    for (const StorageSlot* s : order)
        zip.tensor_record(archive + "/data/" + s->key, *s->tensor);
    zip.record(archive + "/version", "3\n");
    zip.finish();
}

} // namespace ckpt
