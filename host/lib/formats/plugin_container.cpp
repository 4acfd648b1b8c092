// SPDX-License-Identifier: Apache-2.0
// Private checkpoint formats provided by plugins, adapted to the host's Checkpoint type.
#include "formats/plugin_container.hpp"

#include "core/error.hpp"
#include "plugins/host_services.hpp"

#include <algorithm>
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
        host::take_plugin_error();
        ckpt_status st = m_handle->source.read(m_handle->source.ctx, m_index, offset, dst, size);
        if (st != CKPT_OK)
        {
            std::string why = host::take_plugin_error();
            throw_input("{}: the {} container failed to read tensor '{}' (status {}){}{}", m_handle->file,
                        m_handle->plugin, m_name, st, why.empty() ? "" : ": ", why);
        }
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
    host::take_plugin_error();
    ckpt_status st = c.open_source(c.ctx, host::services(), ckpt_str{h->file.data(), h->file.size()}, &h->source);
    if (st != CKPT_OK)
        throw_input("{}: the {} container cannot open it: {}", h->file, h->plugin, host::take_plugin_error());
    if (h->source.struct_size < sizeof(ckpt_tensor_source) || !h->source.count || !h->source.info || !h->source.read)
        throw PluginError(fmt::format("{}: the {} container returned a malformed tensor source", h->file, h->plugin));

    Checkpoint ck;
    ck.format = h->plugin;
    ck.files.push_back(path);
    std::set<std::string> seen;
    const size_t n = h->source.count(h->source.ctx);
    for (size_t i = 0; i < n; ++i) {
        ckpt_tensor_info info{};
        info.struct_size = sizeof info;
        if (h->source.info(h->source.ctx, i, &info) != CKPT_OK)
            throw_input("{}: the {} container cannot describe tensor #{}: {}", h->file, h->plugin, i,
                        host::take_plugin_error());
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

} // namespace ckpt
