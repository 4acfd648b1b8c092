// SPDX-License-Identifier: Apache-2.0
// Builds a plugin descriptor from C++ classes, with storage that lives as long as the process.
//
//   class MyEdge : public ckpt::sdk::Converter { ... };
//   CKPT_PLUGIN_DEFINE(def) {
//       def.info("mine", "1.0", "My family");
//       def.model("mine", {"mine-alias"}).add(std::make_shared<MyEdge>());
//   }
#pragma once

#include <ckptconv/cpp/config.hpp>
#include <ckptconv/cpp/error.hpp>
#include <ckptconv/cpp/plan.hpp>
#include <ckptconv/cpp/release_gate.hpp>

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ckpt::sdk {

/// The conversion being asked, in C++ types.
struct Request {
    const ckpt_host* host = nullptr;
    int direction = 0;
    std::string model;
    std::string src_fmt;
    std::string tgt_fmt;
    uint32_t flags = 0;

    bool debug() const { return (flags & CKPT_REQUEST_DEBUG) != 0; }
    void log(int32_t level, const std::string& msg) const
    {
        if (host && host->log)
            host->log(host->ctx, level, to_str(msg));
    }
    ConstNode view(const ckpt_node* n) const { return {host->config, n}; }
    Node view(ckpt_node* n) const { return {host->config, n}; }
};

/// One conversion edge between two format groups. Subclass it and implement both directions.
class Converter {
public:
    Converter(std::vector<std::string> side0, std::vector<std::string> side1, std::string note)
        : m_side{std::move(side0), std::move(side1)}, m_note(std::move(note)) {}
    virtual ~Converter() = default;
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;

    virtual void convert_config(const Request& req, ConstNode src, Node dst) = 0;
    virtual void plan_checkpoint(const Request& req, ConstNode src_config, ConstNode dst_config,
                                 Plan& plan) = 0;

    const std::vector<std::string>& side(int i) const { return m_side[i]; }

    /// The C descriptor; built once, stable afterwards.
    const ckpt_converter* descriptor()
    {
        if (m_desc.struct_size == 0) {
            for (int i = 0; i < 2; ++i) {
                for (const auto& f : m_side[i])
                    m_fmt_views[i].push_back(to_str(f));
                m_desc.formats[i] = ckpt_format_group{m_fmt_views[i].data(), m_fmt_views[i].size()};
            }
            m_desc.note = to_str(m_note);
            m_desc.ctx = this;
            m_desc.convert_config = &Converter::convert_config_entry;
            m_desc.plan_checkpoint = &Converter::plan_checkpoint_entry;
            m_desc.struct_size = sizeof m_desc;
        }
        return &m_desc;
    }

private:
    static Request make_request(const ckpt_host* host, const ckpt_convert_request* r)
    {
        Request req;
        req.host = host;
        req.direction = r->direction;
        req.model = from_str(r->model);
        req.src_fmt = from_str(r->src_fmt);
        req.tgt_fmt = from_str(r->tgt_fmt);
        req.flags = r->flags;
        return req;
    }
    static ckpt_status convert_config_entry(void* ctx, const ckpt_host* host,
                                            const ckpt_convert_request* r, const ckpt_node* src,
                                            ckpt_node* dst) noexcept
    {
        return guard(host, [&] {
            Request req = make_request(host, r);
            static_cast<Converter*>(ctx)->convert_config(req, req.view(src), req.view(dst));
        });
    }
    static ckpt_status plan_checkpoint_entry(void* ctx, const ckpt_host* host,
                                             const ckpt_convert_request* r,
                                             const ckpt_node* src_config,
                                             const ckpt_node* dst_config, ckpt_plan* plan) noexcept
    {
        return guard(host, [&] {
            Request req = make_request(host, r);
            Plan p(host, plan);
            static_cast<Converter*>(ctx)->plan_checkpoint(req, req.view(src_config),
                                                          req.view(dst_config), p);
        });
    }

    std::vector<std::string> m_side[2];
    std::string m_note;
    std::vector<ckpt_str> m_fmt_views[2];
    ckpt_converter m_desc{};
};

/// A model name with its aliases and converters (in the order `list` shows them).
class ModelDef {
public:
    ModelDef(std::string name, std::vector<std::string> aliases)
        : m_name(std::move(name)), m_aliases(std::move(aliases)) {}

    ModelDef& add(std::shared_ptr<Converter> conv)
    {
        m_converters.push_back(std::move(conv));
        return *this;
    }

    /// The Model Zoo registry name for cs-2.4+ configs (`name`), when it differs from the model
    /// name; `alias` given: that alias's registry name (default: the model's). Since ABI 1.1: a
    /// plugin built with CKPT_TARGET_ABI_MINOR=0 cannot use it (the plugin then fails to load,
    /// saying so).
    ModelDef& registry_name(std::string registry, const std::string& alias = {})
    {
        if (CKPT_TARGET_ABI_MINOR < 1)
            throw Error(CKPT_ERR_UNSUPPORTED, "registry_name needs ABI 1.1; this plugin targets ABI 1.0");
        if (alias.empty()) {
            m_registry_name = std::move(registry);
            return *this;
        }
        m_alias_registry.resize(m_aliases.size());
        for (size_t i = 0; i < m_aliases.size(); ++i)
            if (m_aliases[i] == alias) {
                m_alias_registry[i] = std::move(registry);
                return *this;
            }
        throw Error(CKPT_ERR_INVALID_ARGUMENT, "registry_name: " + alias + " is not an alias of " + m_name);
    }

    /// The last Cerebras release the model exists in (`cs-X.Y`), when a later Model Zoo release
    /// removed it, and why (quoted when the host refuses a later target). Since ABI 1.2: a plugin
    /// built with CKPT_TARGET_ABI_MINOR below 2 cannot use it (the plugin then fails to load,
    /// saying so), nor can it name anything but a release.
    ModelDef& last_release(std::string release, std::string reason)
    {
        if (CKPT_TARGET_ABI_MINOR < 2)
            throw Error(CKPT_ERR_UNSUPPORTED, "last_release needs ABI 1.2; this plugin targets ABI 1." +
                                                  std::to_string(CKPT_TARGET_ABI_MINOR));
        const auto parsed = CsRelease::parse(release);
        if (!parsed || parsed->format() != release)
            throw Error(CKPT_ERR_INVALID_ARGUMENT,
                        "last_release of " + m_name + ": '" + release + "' is not a Cerebras release (cs-X.Y, e.g. cs-2.3)");
        m_last_release = std::move(release);
        m_last_release_reason = std::move(reason);
        return *this;
    }

    const ckpt_model* descriptor()
    {
        if (m_desc.struct_size == 0) {
            for (const auto& a : m_aliases)
                m_alias_views.push_back(to_str(a));
            for (const auto& c : m_converters)
                m_conv_ptrs.push_back(c->descriptor());
            m_desc.name = to_str(m_name);
            m_desc.aliases = m_alias_views.data();
            m_desc.alias_count = m_alias_views.size();
            m_desc.converters = m_conv_ptrs.data();
            m_desc.converter_count = m_conv_ptrs.size();
            m_desc.registry_name = to_str(m_registry_name);
            if (!m_alias_registry.empty()) {
                for (const auto& r : m_alias_registry)
                    m_alias_registry_views.push_back(to_str(r));
                m_desc.alias_registry_names = m_alias_registry_views.data();
            }
            m_desc.last_release = to_str(m_last_release);
            m_desc.last_release_reason = to_str(m_last_release_reason);
            m_desc.struct_size = CKPT_MODEL_TARGET_SIZE;
        }
        return &m_desc;
    }

private:
    std::string m_name;
    std::vector<std::string> m_aliases;
    std::vector<std::shared_ptr<Converter>> m_converters;
    std::string m_registry_name;
    std::vector<std::string> m_alias_registry; // empty, or parallel to m_aliases
    std::string m_last_release, m_last_release_reason;
    std::vector<ckpt_str> m_alias_views, m_alias_registry_views;
    std::vector<const ckpt_converter*> m_conv_ptrs;
    ckpt_model m_desc{};
};

/// The whole plugin. Fill it once in the CKPT_PLUGIN_DEFINE body.
class PluginDef {
public:
    void info(std::string name, std::string version, std::string description)
    {
        m_name = std::move(name);
        m_version = std::move(version);
        m_description = std::move(description);
    }
    ModelDef& model(std::string name, std::vector<std::string> aliases = {})
    {
        m_models.emplace_back(std::move(name), std::move(aliases));
        return m_models.back();
    }
    /// Registers a container format; `desc` must outlive the process (e.g. a static).
    void container(const ckpt_container* desc) { m_containers.push_back(desc); }

    const ckpt_plugin* descriptor()
    {
        if (m_desc.struct_size == 0) {
            for (auto& m : m_models)
                m_model_ptrs.push_back(m.descriptor());
            m_desc.abi_version = CKPT_TARGET_ABI_VERSION;
            m_desc.name = to_str(m_name);
            m_desc.version = to_str(m_version);
            m_desc.description = to_str(m_description);
            m_desc.models = m_model_ptrs.data();
            m_desc.model_count = m_model_ptrs.size();
            m_desc.containers = m_containers.data();
            m_desc.container_count = m_containers.size();
            m_desc.struct_size = sizeof m_desc;
        }
        return &m_desc;
    }

private:
    std::string m_name, m_version, m_description;
    std::deque<ModelDef> m_models; // deque: references stay valid as models are added
    std::vector<const ckpt_model*> m_model_ptrs;
    std::vector<const ckpt_container*> m_containers;
    ckpt_plugin m_desc{};
};

} // namespace ckpt::sdk

/// Defines the plugin entry point. The body fills `def` (a ckpt::sdk::PluginDef&) once; an
/// exception thrown there is reported to the host and the plugin is not loaded.
#define CKPT_PLUGIN_DEFINE(def)                                                                  \
    static void ckpt_plugin_define_(::ckpt::sdk::PluginDef& def);                                \
    extern "C" CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host* host) noexcept  \
    {                                                                                            \
        /* owned here, so unloading the library frees it (a leak under LeakSanitizer else) */  \
        static std::unique_ptr<::ckpt::sdk::PluginDef> instance;                                 \
        if (!instance) {                                                                         \
            auto fresh = std::make_unique<::ckpt::sdk::PluginDef>();                             \
            ckpt_status st = ::ckpt::sdk::guard(host, [&] { ckpt_plugin_define_(*fresh); });     \
            if (st != CKPT_OK)                                                                   \
                return nullptr;                                                                  \
            instance = std::move(fresh);                                                         \
        }                                                                                        \
        return instance->descriptor();                                                           \
    }                                                                                            \
    static void ckpt_plugin_define_(::ckpt::sdk::PluginDef& def)
