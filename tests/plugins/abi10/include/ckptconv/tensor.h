/* SPDX-License-Identifier: Apache-2.0 */
/* The tensor-stream interface: an inventory of tensors to read from, and a sink to write to. */
#ifndef CKPTCONV_TENSOR_H
#define CKPTCONV_TENSOR_H

#include "ckptconv/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Upper bound on tensor rank anywhere in the ABI.
#define CKPT_MAX_RANK 16

/// Describes one tensor. Bytes are always C-contiguous, little-endian, `nbytes` =
/// product(shape) * ckpt_dtype_size(dtype) (a rank-0 tensor has one element).
typedef struct ckpt_tensor_info {
    uint32_t struct_size;
    uint32_t rank;
    ckpt_str name;
    ckpt_dtype dtype;
    uint32_t reserved0;
    const int64_t* shape; /* `rank` entries */
    uint64_t nbytes;
} ckpt_tensor_info;

/// A readable set of tensors. Created by one side, destroyed by the same side via `close`.
/// Thread safety: `read` and `map` may be called concurrently for different tensors; the other
/// functions are thread-compatible.
typedef struct ckpt_tensor_source {
    uint32_t struct_size;
    void* ctx;
    size_t (*count)(void* ctx);
    /// Fills `out` (whose `struct_size` the caller set). The pointers inside `out` stay valid until
    /// `close`.
    ckpt_status (*info)(void* ctx, size_t index, ckpt_tensor_info* out);
    /// Copies `size` bytes starting at byte `offset` of the tensor's contiguous data into `dst`.
    ckpt_status (*read)(void* ctx, size_t index, uint64_t offset, void* dst, uint64_t size);
    /// Optional (may be NULL). Sets `*data` to the tensor's contiguous bytes, valid until `close`;
    /// CKPT_ERR_UNSUPPORTED when this tensor cannot be mapped (then use `read`).
    ckpt_status (*map)(void* ctx, size_t index, const void** data);
    /// Releases the source. After it no pointer obtained from the source may be used.
    void (*close)(void* ctx);
} ckpt_tensor_source;

/// A destination for tensors. The writer learns the whole inventory first, then receives the
/// bytes of each tensor in inventory order, in chunks in ascending offset order, then `commit`.
/// `abort` may be called at any point instead of `commit`; it must leave no output behind.
/// After `commit` or `abort` the sink is released and must not be used again.
typedef struct ckpt_tensor_sink {
    uint32_t struct_size;
    void* ctx;
    /// `infos[0..count)` are borrowed for this call only.
    ckpt_status (*begin)(void* ctx, size_t count, const ckpt_tensor_info* const* infos);
    ckpt_status (*write)(void* ctx, size_t index, uint64_t offset, const void* data, uint64_t size);
    ckpt_status (*commit)(void* ctx);
    void (*abort)(void* ctx);
} ckpt_tensor_sink;

#ifdef __cplusplus
}
#endif

#endif /* CKPTCONV_TENSOR_H */
