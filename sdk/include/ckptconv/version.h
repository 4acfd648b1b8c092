/* SPDX-License-Identifier: Apache-2.0 */
/* ABI version of the ckptconv plugin SDK: the one number host and plugin compare at load. */
#ifndef CKPTCONV_VERSION_H
#define CKPTCONV_VERSION_H

/// Compose an ABI version: major in the high 16 bits, minor in the low 16 bits.
#define CKPT_MAKE_VERSION(major, minor) ((((unsigned long)(major)) << 16) | ((unsigned long)(minor)))
#define CKPT_VERSION_MAJOR(v) ((unsigned)(((v) >> 16) & 0xFFFFu))
#define CKPT_VERSION_MINOR(v) ((unsigned)((v) & 0xFFFFu))

/// The ABI this header describes. The host loads a plugin when the majors are equal and the
/// plugin's minor is not greater than the host's (docs/abi.md §2, which has the same history).
///
/// History:
///   1.0  first stable ABI: descriptor, models and converters, config tree, tensor source and
///        sink, container formats, plan ops COPY..KERNEL.
///   1.1  ckpt_model.registry_name and alias_registry_names (appended to ckpt_model).
///   1.2  ckpt_model.last_release and last_release_reason (appended to ckpt_model).
#define CKPT_ABI_VERSION_MAJOR 1
#define CKPT_ABI_VERSION_MINOR 2
#define CKPT_ABI_VERSION CKPT_MAKE_VERSION(CKPT_ABI_VERSION_MAJOR, CKPT_ABI_VERSION_MINOR)

/// The minor a plugin is built for. Define it (e.g. -DCKPT_TARGET_ABI_MINOR=0) to build a plugin
/// that also loads in hosts as old as that minor: the C++ helpers (cpp/plugin.hpp) then declare
/// that version and fill each struct at that minor's size, and refuse features of later minors.
/// A C plugin uses CKPT_TARGET_ABI_VERSION and the CKPT_*_TARGET_SIZE macros of plugin.h.
/// Default: this header's minor.
#ifndef CKPT_TARGET_ABI_MINOR
#define CKPT_TARGET_ABI_MINOR CKPT_ABI_VERSION_MINOR
#endif
#if CKPT_TARGET_ABI_MINOR > CKPT_ABI_VERSION_MINOR
#error "CKPT_TARGET_ABI_MINOR is newer than this SDK's CKPT_ABI_VERSION_MINOR"
#endif
#define CKPT_TARGET_ABI_VERSION CKPT_MAKE_VERSION(CKPT_ABI_VERSION_MAJOR, CKPT_TARGET_ABI_MINOR)

/// Name of the one symbol a plugin exports (see plugin.h).
#define CKPT_PLUGIN_ENTRY_SYMBOL "ckpt_plugin_entry"

#endif /* CKPTCONV_VERSION_H */
