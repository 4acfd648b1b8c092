/* SPDX-License-Identifier: Apache-2.0 */
/* ABI version of the ckptconv plugin SDK: the one number host and plugin compare at load. */
#ifndef CKPTCONV_VERSION_H
#define CKPTCONV_VERSION_H

/// Compose an ABI version: major in the high 16 bits, minor in the low 16 bits.
#define CKPT_MAKE_VERSION(major, minor) ((((unsigned long)(major)) << 16) | ((unsigned long)(minor)))
#define CKPT_VERSION_MAJOR(v) ((unsigned)(((v) >> 16) & 0xFFFFu))
#define CKPT_VERSION_MINOR(v) ((unsigned)((v) & 0xFFFFu))

/// The ABI this header describes. The host loads a plugin when the majors are equal and the
/// plugin's minor is not greater than the host's (docs/abi.md, "Versioning").
///
/// History:
///   1.0  first stable ABI: descriptor, models and converters, config tree, tensor source and
///        sink, container formats, plan ops COPY..KERNEL.
#define CKPT_ABI_VERSION_MAJOR 1
#define CKPT_ABI_VERSION_MINOR 0
#define CKPT_ABI_VERSION CKPT_MAKE_VERSION(CKPT_ABI_VERSION_MAJOR, CKPT_ABI_VERSION_MINOR)

/// Name of the one symbol a plugin exports (see plugin.h).
#define CKPT_PLUGIN_ENTRY_SYMBOL "ckpt_plugin_entry"

#endif /* CKPTCONV_VERSION_H */
