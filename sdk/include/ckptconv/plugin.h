/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin descriptor and the host services: what a plugin library exports and receives. */
#ifndef CKPTCONV_PLUGIN_H
#define CKPTCONV_PLUGIN_H

#include "ckptconv/config.h"
#include "ckptconv/plan.h"
#include "ckptconv/tensor.h"
#include "ckptconv/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Services the host offers. Valid from the entry call until the process exits; thread-safe.
typedef struct ckpt_host {
    uint32_t struct_size;
    uint32_t abi_version; /* the host's CKPT_ABI_VERSION */
    void* ctx;
    /// Writes a log line (without trailing newline) at a CKPT_LOG_* level.
    void (*log)(void* ctx, int32_t level, ckpt_str message);
    /// Hands the message of a failure the caller is about to return to the host, which copies it.
    /// Call it at most once per failing call; the last message wins.
    void (*set_error)(void* ctx, ckpt_str message);
    const ckpt_config_api* config;
    const ckpt_plan_api* plan;
} ckpt_host;

/// An ordered list of equivalent format names, e.g. {"cs-2.1", "cs-2.2", "cs-2.3"}.
typedef struct ckpt_format_group {
    const ckpt_str* formats;
    size_t count;
} ckpt_format_group;

/// Describes the conversion being asked of a converter.
typedef struct ckpt_convert_request {
    uint32_t struct_size;
    /// 0: formats[0] -> formats[1]; 1: formats[1] -> formats[0].
    int32_t direction;
    ckpt_str model;   /* the name the user typed, after alias resolution */
    ckpt_str src_fmt; /* one member of the source group */
    ckpt_str tgt_fmt; /* one member of the target group */
    uint32_t flags;   /* CKPT_REQUEST_* */
    uint32_t reserved0;
} ckpt_convert_request;

#define CKPT_REQUEST_DEBUG 1u               /* --debug */
#define CKPT_REQUEST_DROP_UNMATCHED_KEYS 2u /* --drop-unmatched-keys */

/// One conversion edge between two format groups, usable in both directions.
typedef struct ckpt_converter {
    uint32_t struct_size;
    uint32_t reserved0;
    ckpt_format_group formats[2];
    /// Free text for `ckptconv list` (which classes are converted).
    ckpt_str note;
    void* ctx;
    /// Writes the converted config into `dst` (an empty MAP). `src` is the model section of the
    /// source config: the whole HF config, or the `model:` map of a CS YAML.
    ckpt_status (*convert_config)(void* ctx, const ckpt_host* host, const ckpt_convert_request* req,
                                  const ckpt_node* src, ckpt_node* dst);
    /// Describes the target checkpoint as a plan over the source inventory. `src_config` and
    /// `dst_config` are the model sections before and after convert_config.
    ckpt_status (*plan_checkpoint)(void* ctx, const ckpt_host* host,
                                   const ckpt_convert_request* req, const ckpt_node* src_config,
                                   const ckpt_node* dst_config, ckpt_plan* plan);
} ckpt_converter;

/// A model family name served by the plugin, with its aliases and conversion edges.
typedef struct ckpt_model {
    uint32_t struct_size;
    uint32_t reserved0;
    ckpt_str name;
    const ckpt_str* aliases;
    size_t alias_count;
    const ckpt_converter* const* converters;
    size_t converter_count;
    /* ---- since ABI 1.1 (read only when struct_size covers them) ---- */
    /// The Cerebras Model Zoo registry name of `name`: what cs-2.4 and later configs carry as the
    /// model's `name` (e.g. `bert` for `roberta`). Empty: the same as `name`.
    ckpt_str registry_name;
    /// NULL, or `alias_count` registry names parallel to `aliases` (an empty one: `registry_name`).
    const ckpt_str* alias_registry_names;
    /* ---- since ABI 1.2 (read only when struct_size covers them) ---- */
    /// The last Cerebras release the model exists in, as a format name (`cs-2.3`), when a later
    /// Model Zoo release removed it: the host chains no release step past it and refuses a later
    /// target. Empty: every release since the model's first has it.
    ckpt_str last_release;
    /// Why `last_release` is the last (a sentence the refusal quotes, e.g. "the Model Zoo removed
    /// MPT after cs-2.3 (Release 2.3.1)"). Empty when `last_release` is; may be empty otherwise.
    ckpt_str last_release_reason;
} ckpt_model;

/// What a plugin targeting CKPT_TARGET_ABI_MINOR sets as ckpt_model.struct_size: the struct as
/// that minor knows it (1.0 ends before registry_name, 1.1 before last_release).
#if CKPT_TARGET_ABI_MINOR >= 2
#define CKPT_MODEL_TARGET_SIZE ((uint32_t)sizeof(ckpt_model))
#elif CKPT_TARGET_ABI_MINOR >= 1
#define CKPT_MODEL_TARGET_SIZE ((uint32_t)offsetof(ckpt_model, last_release))
#else
#define CKPT_MODEL_TARGET_SIZE ((uint32_t)offsetof(ckpt_model, registry_name))
#endif

/// A private checkpoint format. The host probes every registered container with the first
/// bytes of a file before its built-in formats. `name` is the format's name: users give it to
/// --src-fmt and --tgt-fmt and converters list it in their format groups (lowercase a-z, 0-9,
/// '.', '_', '-'; never `hf` or `cs-*`; a name another loaded plugin registered first is
/// refused at load).
typedef struct ckpt_container {
    uint32_t struct_size;
    uint32_t reserved0;
    ckpt_str name;
    ckpt_str description;
    void* ctx;
    /// Returns 1 when `head` (the first `head_size` bytes of `path`, at most 4096) is this format.
    int32_t (*identify)(void* ctx, const void* head, size_t head_size, ckpt_str path);
    /// Opens `path` for reading; fills `*out`.
    ckpt_status (*open_source)(void* ctx, const ckpt_host* host, ckpt_str path,
                               ckpt_tensor_source* out);
    /// Optional (may be NULL: read-only format). Creates `path` (a temporary name the host moves
    /// into place after commit); fills `*out`.
    ckpt_status (*open_sink)(void* ctx, const ckpt_host* host, ckpt_str path,
                             ckpt_tensor_sink* out);
} ckpt_container;

/// What `ckpt_plugin_entry` returns. The descriptor and everything it points to must stay valid
/// and unchanged until the process exits (the host never unloads a plugin).
typedef struct ckpt_plugin {
    uint32_t struct_size;
    uint32_t abi_version; /* CKPT_ABI_VERSION the plugin was built with */
    ckpt_str name;        /* short family name, e.g. "gpt2" */
    ckpt_str version;     /* the plugin's own version, free text */
    ckpt_str description;
    const ckpt_model* const* models;
    size_t model_count;
    const ckpt_container* const* containers;
    size_t container_count;
} ckpt_plugin;

/// The one symbol a plugin exports (CKPT_PLUGIN_ENTRY_SYMBOL). Called once, from the host's main
/// thread, right after the library is loaded. Returns NULL to refuse to load (after optionally
/// calling host->set_error). Must not throw.
typedef const ckpt_plugin* (*ckpt_plugin_entry_fn)(const ckpt_host* host);

#ifdef __cplusplus
}
#endif

#endif /* CKPTCONV_PLUGIN_H */
