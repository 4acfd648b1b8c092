// SPDX-License-Identifier: Apache-2.0
// Fixture: declares an ABI with another major version; the host must reject it.
#include <ckptconv/plugin.h>

extern "C" CKPT_EXPORT const ckpt_plugin* ckpt_plugin_entry(const ckpt_host*) noexcept
{
    static ckpt_plugin desc = [] {
        ckpt_plugin d{};
        d.struct_size = sizeof d;
        d.abi_version = static_cast<uint32_t>(CKPT_MAKE_VERSION(CKPT_ABI_VERSION_MAJOR + 98, 0));
        d.name = ckpt_str{"bad_abi", 7};
        return d;
    }();
    return &desc;
}
