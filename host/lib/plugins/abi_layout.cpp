// SPDX-License-Identifier: Apache-2.0
// Freezes the ABI 1.0 layout: any change to these offsets breaks every installed plugin.
// Fields may only be appended (docs/abi.md); add a new block per minor below this one.
#include "plugins/abi_struct.hpp"

#include <ckptconv/ckptconv.h>

#include <cstddef>

#define CKPT_FROZEN(type, field, offset) \
    static_assert(offsetof(type, field) == (offset), #type "." #field " moved: ABI 1.0 is frozen")

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
// ---- ABI 1.0 (LP64) — DO NOT MODIFY ABOVE THE NEXT VERSION MARKER ----
CKPT_FROZEN(ckpt_str, data, 0);
CKPT_FROZEN(ckpt_str, size, 8);
static_assert(sizeof(ckpt_str) == 16);

CKPT_FROZEN(ckpt_tensor_info, rank, 4);
CKPT_FROZEN(ckpt_tensor_info, name, 8);
CKPT_FROZEN(ckpt_tensor_info, dtype, 24);
CKPT_FROZEN(ckpt_tensor_info, shape, 32);
CKPT_FROZEN(ckpt_tensor_info, nbytes, 40);
static_assert(sizeof(ckpt_tensor_info) == 48);

CKPT_FROZEN(ckpt_tensor_source, ctx, 8);
CKPT_FROZEN(ckpt_tensor_source, count, 16);
CKPT_FROZEN(ckpt_tensor_source, info, 24);
CKPT_FROZEN(ckpt_tensor_source, read, 32);
CKPT_FROZEN(ckpt_tensor_source, map, 40);
CKPT_FROZEN(ckpt_tensor_source, close, 48);
static_assert(sizeof(ckpt_tensor_source) == 56);

CKPT_FROZEN(ckpt_tensor_sink, ctx, 8);
CKPT_FROZEN(ckpt_tensor_sink, begin, 16);
CKPT_FROZEN(ckpt_tensor_sink, write, 24);
CKPT_FROZEN(ckpt_tensor_sink, commit, 32);
CKPT_FROZEN(ckpt_tensor_sink, abort, 40);
static_assert(sizeof(ckpt_tensor_sink) == 48);

CKPT_FROZEN(ckpt_config_api, kind, 8);
CKPT_FROZEN(ckpt_config_api, map_find, 80);
CKPT_FROZEN(ckpt_config_api, set_null, 88);
CKPT_FROZEN(ckpt_config_api, assign, 184);
CKPT_FROZEN(ckpt_config_api, tree_create, 192);
CKPT_FROZEN(ckpt_config_api, tree_destroy, 200);
static_assert(sizeof(ckpt_config_api) == 208);

CKPT_FROZEN(ckpt_kernel_io, inputs, 8);
CKPT_FROZEN(ckpt_kernel_io, input_data, 16);
CKPT_FROZEN(ckpt_kernel_io, output, 24);
CKPT_FROZEN(ckpt_kernel_io, output_data, 32);
static_assert(sizeof(ckpt_kernel_io) == 40);

CKPT_FROZEN(ckpt_kernel, ctx, 8);
CKPT_FROZEN(ckpt_kernel, run, 16);
CKPT_FROZEN(ckpt_kernel, release, 24);
static_assert(sizeof(ckpt_kernel) == 32);

CKPT_FROZEN(ckpt_op, kind, 4);
CKPT_FROZEN(ckpt_op, output, 8);
CKPT_FROZEN(ckpt_op, inputs, 24);
CKPT_FROZEN(ckpt_op, input_count, 32);
CKPT_FROZEN(ckpt_op, axis, 40);
CKPT_FROZEN(ckpt_op, index, 48);
CKPT_FROZEN(ckpt_op, count, 56);
CKPT_FROZEN(ckpt_op, ints, 64);
CKPT_FROZEN(ckpt_op, int_count, 72);
CKPT_FROZEN(ckpt_op, scalar, 80);
CKPT_FROZEN(ckpt_op, dtype, 88);
CKPT_FROZEN(ckpt_op, generator, 92);
CKPT_FROZEN(ckpt_op, kernel, 96);
static_assert(sizeof(ckpt_op) == 128);

CKPT_FROZEN(ckpt_plan_api, input_count, 8);
CKPT_FROZEN(ckpt_plan_api, input_info, 16);
CKPT_FROZEN(ckpt_plan_api, input, 24);
CKPT_FROZEN(ckpt_plan_api, add, 32);
CKPT_FROZEN(ckpt_plan_api, drop, 40);
CKPT_FROZEN(ckpt_plan_api, value_info, 48);
CKPT_FROZEN(ckpt_plan_api, note_match, 56);
static_assert(sizeof(ckpt_plan_api) == 64);

CKPT_FROZEN(ckpt_host, abi_version, 4);
CKPT_FROZEN(ckpt_host, ctx, 8);
CKPT_FROZEN(ckpt_host, log, 16);
CKPT_FROZEN(ckpt_host, set_error, 24);
CKPT_FROZEN(ckpt_host, config, 32);
CKPT_FROZEN(ckpt_host, plan, 40);
static_assert(sizeof(ckpt_host) == 48);

CKPT_FROZEN(ckpt_format_group, count, 8);
CKPT_FROZEN(ckpt_convert_request, direction, 4);
CKPT_FROZEN(ckpt_convert_request, model, 8);
CKPT_FROZEN(ckpt_convert_request, src_fmt, 24);
CKPT_FROZEN(ckpt_convert_request, tgt_fmt, 40);
CKPT_FROZEN(ckpt_convert_request, flags, 56);
static_assert(sizeof(ckpt_convert_request) == 64);

CKPT_FROZEN(ckpt_converter, formats, 8);
CKPT_FROZEN(ckpt_converter, note, 40);
CKPT_FROZEN(ckpt_converter, ctx, 56);
CKPT_FROZEN(ckpt_converter, convert_config, 64);
CKPT_FROZEN(ckpt_converter, plan_checkpoint, 72);
static_assert(sizeof(ckpt_converter) == 80);

CKPT_FROZEN(ckpt_model, name, 8);
CKPT_FROZEN(ckpt_model, aliases, 24);
CKPT_FROZEN(ckpt_model, alias_count, 32);
CKPT_FROZEN(ckpt_model, converters, 40);
CKPT_FROZEN(ckpt_model, converter_count, 48);
static_assert(offsetof(ckpt_model, converter_count) + sizeof(size_t) == 56, "ckpt_model 1.0 size");

CKPT_FROZEN(ckpt_container, name, 8);
CKPT_FROZEN(ckpt_container, description, 24);
CKPT_FROZEN(ckpt_container, ctx, 40);
CKPT_FROZEN(ckpt_container, identify, 48);
CKPT_FROZEN(ckpt_container, open_source, 56);
CKPT_FROZEN(ckpt_container, open_sink, 64);
static_assert(sizeof(ckpt_container) == 72);

CKPT_FROZEN(ckpt_plugin, abi_version, 4);
CKPT_FROZEN(ckpt_plugin, name, 8);
CKPT_FROZEN(ckpt_plugin, version, 24);
CKPT_FROZEN(ckpt_plugin, description, 40);
CKPT_FROZEN(ckpt_plugin, models, 56);
CKPT_FROZEN(ckpt_plugin, model_count, 64);
CKPT_FROZEN(ckpt_plugin, containers, 72);
CKPT_FROZEN(ckpt_plugin, container_count, 80);
static_assert(sizeof(ckpt_plugin) == 88);
// ---- end of ABI 1.0 ----

// ---- ABI 1.1: appended fields (older plugins' structs end before them) ----
CKPT_FROZEN(ckpt_model, registry_name, 56);
CKPT_FROZEN(ckpt_model, alias_registry_names, 72);
static_assert(offsetof(ckpt_model, alias_registry_names) + sizeof(void*) == 80, "ckpt_model 1.1 size");
// ---- end of ABI 1.1 ----

// ---- ABI 1.2: appended fields ----
CKPT_FROZEN(ckpt_model, last_release, 80);
CKPT_FROZEN(ckpt_model, last_release_reason, 96);
static_assert(sizeof(ckpt_model) == 112);
// ---- end of ABI 1.2 ----

// The smallest struct_size the host accepts for each struct is its 1.0 size (abi_struct.hpp).
using ckpt::host::kAbi10Size;
static_assert(kAbi10Size<ckpt_plugin> == 88 && kAbi10Size<ckpt_model> == 56 && kAbi10Size<ckpt_converter> == 80 &&
              kAbi10Size<ckpt_container> == 72 && kAbi10Size<ckpt_op> == 128 && kAbi10Size<ckpt_kernel> == 32 &&
              kAbi10Size<ckpt_tensor_info> == 48 && kAbi10Size<ckpt_tensor_source> == 56 &&
              kAbi10Size<ckpt_tensor_sink> == 48);
#endif
