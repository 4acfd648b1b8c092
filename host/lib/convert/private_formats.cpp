// SPDX-License-Identifier: Apache-2.0
// Plugins' private formats in a conversion: format names, source checks, the atomic write.
#include "convert/private_formats.hpp"

#include "config/config_file.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "formats/plugin_container.hpp"
#include "plugins/known_families.hpp"

#include <fmt/format.h>

#include <utility>

namespace ckpt::convert {

std::string private_format_names(const host::Registry& reg)
{
    std::vector<std::string> names;
    for (const auto& f : reg.private_formats())
        names.push_back(f.name);
    if (names.empty())
        return {};
    return fmt::format(" or a plugin's format ({})", fmt::join(names, ", "));
}

void missing_plugin_check(const std::string& model)
{
    const auto family = host::known_family_of(model, host::known_models_file());
    if (!family)
        return;
    throw PluginError(fmt::format("The model {} is provided by the {} plugin, which is not installed (or did not "
                                  "load: see `ckptconv plugins`). Install the package {}, or from a build tree "
                                  "`cmake --install <build> --component {}`.",
                                  model, family->family, family->package, family->component));
}

void check_source_container(const host::Registry& reg, const Checkpoint& ck, const std::string& src,
                            const std::filesystem::path& path)
{
    // The reverse (a plugin container read as another format, e.g. `hf`) stays allowed: a
    // container may hold a state dict in any layout, and the user says which one.
    const host::FormatEntry* want = reg.private_format(src);
    if (want && reg.private_format(ck.format) != want)
        throw_input("{}: --src-fmt {} but this is not a {} checkpoint (it reads as {})", path.string(), src, src,
                    ck.format);
}

StagedOutputs write_private_output(std::vector<std::filesystem::path> inputs, const ckpt_container& container, const std::vector<NamedTensor>& tensors,
                                   const Node& config, const OutputNames& names, const Request& r)
{
    StagedOutputs out(std::move(inputs));
    AtomicOutput& ck_file = out.add(names.checkpoint, AtomicOutput::Type::file, r.force);
    AtomicOutput& cfg_file = out.add(names.config, AtomicOutput::Type::file, r.force);
    write_plugin_container(container, ck_file.path(), tensors);
    write_config(cfg_file.path(), config, false);
    return out;
}

} // namespace ckpt::convert
