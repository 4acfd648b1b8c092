// SPDX-License-Identifier: Apache-2.0
// Private checkpoint formats provided by plugins, adapted to the host's Checkpoint type.
#include "formats/plugin_container.hpp"

#include "core/error.hpp"
#include "plugins/abi_struct.hpp"
#include "plugins/host_services.hpp"
#include "plugins/plugin_call.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <set>

namespace ckpt {

namespace {

std::string str(ckpt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

/// Owns an open plugin source; closes it when the last tensor referring to it is destroyed.
struct SourceHandle {
    ckpt_tensor_source source{};
    std::string file;
    std::string plugin;
    ~SourceHandle()
    {
        if (source.close)
            source.close(source.ctx);
    }
};

class PluginTensor final : public TensorData {
public:
    PluginTensor(std::shared_ptr<SourceHandle> h, size_t index, std::string name, TensorInfo info,
                 const std::byte* mapped)
        : m_handle(std::move(h)), m_index(index), m_name(std::move(name)), m_info(std::move(info)), m_mapped(mapped)
    {
    }
    const TensorInfo& info() const override { return m_info; }
    const std::byte* data() const override { return m_mapped; }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        if (offset > m_info.nbytes() || size > m_info.nbytes() - offset)
            throw_input("{}: read outside tensor '{}'", m_handle->file, m_name);
        const ckpt_tensor_source& src = m_handle->source;
        host::call_plugin(m_handle->plugin, fmt::format("{}: reading tensor '{}'", m_handle->file, m_name),
                          [&] { return src.read(src.ctx, m_index, offset, dst, size); });
    }

private:
    std::shared_ptr<SourceHandle> m_handle;
    size_t m_index;
    std::string m_name;
    TensorInfo m_info;
    const std::byte* m_mapped;
};

} // namespace

const ckpt_container* identify_plugin_container(const std::vector<host::PluginRecord>& plugins, std::string_view head,
                                                const std::filesystem::path& path)
{
    const std::string p = path.string();
    for (const auto& r : plugins) {
        if (!r.loaded)
            continue;
        for (size_t i = 0; i < r.descriptor->container_count; ++i) {
            const ckpt_container* c = r.descriptor->containers[i];
            if (c->identify(c->ctx, head.data(), head.size(), ckpt_str{p.data(), p.size()}) == 1)
                return c;
        }
    }
    return nullptr;
}

Checkpoint read_plugin_container(const ckpt_container& c, const std::filesystem::path& path)
{
    auto h = std::make_shared<SourceHandle>();
    h->file = path.string();
    h->plugin = str(c.name);
    // The host's struct, zeroed: a plugin of an older minor fills only the prefix it knows.
    host::call_plugin(h->plugin, fmt::format("{}: opening it as {}", h->file, h->plugin), [&] {
        return c.open_source(c.ctx, host::services(), ckpt_str{h->file.data(), h->file.size()}, &h->source);
    });
    if (h->source.struct_size < host::kAbi10Size<ckpt_tensor_source> || !h->source.count || !h->source.info ||
        !h->source.read)
        throw PluginError(fmt::format("{}: the {} container returned a malformed tensor source", h->file, h->plugin));

    Checkpoint ck;
    ck.format = h->plugin;
    ck.files.push_back(path);
    std::set<std::string> seen;
    const size_t n = h->source.count(h->source.ctx);
    for (size_t i = 0; i < n; ++i) {
        ckpt_tensor_info info{};
        info.struct_size = sizeof info;
        host::call_plugin(h->plugin, fmt::format("{}: describing tensor #{}", h->file, i),
                          [&] { return h->source.info(h->source.ctx, i, &info); });
        if (info.rank > CKPT_MAX_RANK || (info.rank && !info.shape) || info.dtype <= CKPT_DTYPE_INVALID ||
            info.dtype >= CKPT_DTYPE_COUNT)
            throw_input("{}: the {} container describes tensor #{} with an invalid rank or dtype", h->file, h->plugin, i);
        TensorInfo ti;
        ti.dtype = static_cast<DType>(info.dtype);
        ti.shape.assign(info.shape, info.shape + info.rank);
        const std::string name = str(info.name);
        if (ti.nbytes() != info.nbytes)
            throw_input("{}: tensor '{}' is {} but the container says {} bytes", h->file, name, describe(ti), info.nbytes);
        if (!seen.insert(name).second)
            throw_input("{}: tensor '{}' appears twice", h->file, name);
        const void* mapped = nullptr;
        if (h->source.map && h->source.map(h->source.ctx, i, &mapped) != CKPT_OK)
            mapped = nullptr;
        ck.root.append(Node(name), Node(TensorPtr(std::make_shared<PluginTensor>(
                                         h, i, name, std::move(ti), static_cast<const std::byte*>(mapped)))));
    }
    return ck;
}

void write_plugin_container(const ckpt_container& c, const std::filesystem::path& path,
                            const std::vector<NamedTensor>& tensors)
{
    const std::string plugin = str(c.name);
    const std::string file = path.string();
    if (!c.open_sink)
        throw ConversionError(fmt::format("the {} format is read-only: its plugin offers no writer", plugin));
    ckpt_tensor_sink sink{};
    host::call_plugin(plugin, fmt::format("{}: creating it as {}", file, plugin), [&] {
        return c.open_sink(c.ctx, host::services(), ckpt_str{file.data(), file.size()}, &sink);
    });
    if (sink.struct_size < host::kAbi10Size<ckpt_tensor_sink> || !sink.begin || !sink.write || !sink.commit ||
        !sink.abort)
        throw PluginError(fmt::format("{}: the {} container returned a malformed tensor sink", file, plugin));
    bool finished = false;
    try {
        std::vector<ckpt_tensor_info> infos(tensors.size());
        std::vector<const ckpt_tensor_info*> info_ptrs;
        for (size_t i = 0; i < tensors.size(); ++i) {
            infos[i] = host::abi_tensor_info(tensors[i].tensor->info(), tensors[i].name);
            info_ptrs.push_back(&infos[i]);
        }
        host::call_plugin(plugin, fmt::format("{}: starting to write {} tensors", file, tensors.size()),
                          [&] { return sink.begin(sink.ctx, info_ptrs.size(), info_ptrs.data()); });
        constexpr uint64_t kChunk = uint64_t{4} << 20;
        std::vector<std::byte> buffer;
        for (size_t i = 0; i < tensors.size(); ++i) {
            const TensorData& t = *tensors[i].tensor;
            const uint64_t total = t.info().nbytes();
            const std::byte* mapped = t.data();
            for (uint64_t off = 0; off < total; off += kChunk) {
                const uint64_t n = std::min(kChunk, total - off);
                const std::byte* bytes = mapped ? mapped + off : nullptr;
                if (!bytes) {
                    buffer.resize(n);
                    t.read(off, buffer.data(), n);
                    bytes = buffer.data();
                }
                host::call_plugin(plugin, fmt::format("{}: writing tensor '{}'", file, tensors[i].name),
                                  [&] { return sink.write(sink.ctx, i, off, bytes, n); });
            }
        }
        finished = true; // commit releases the sink whatever it returns
        host::call_plugin(plugin, fmt::format("{}: finishing it", file), [&] { return sink.commit(sink.ctx); });
    } catch (...) {
        if (!finished)
            sink.abort(sink.ctx);
        throw;
    }
}

} // namespace ckpt
