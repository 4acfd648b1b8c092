/* SPDX-License-Identifier: Apache-2.0 */
/* The plan interface: a plugin describes every output tensor as operations over input tensors. */
#ifndef CKPTCONV_PLAN_H
#define CKPTCONV_PLAN_H

#include "ckptconv/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A plan under construction. Opaque and host-owned; valid only during the `plan_checkpoint`
/// call that received it.
typedef struct ckpt_plan ckpt_plan;

/// Identifies a value in a plan: an input tensor (from `ckpt_plan_api.input`) or the result of an
/// earlier op (from `ckpt_plan_api.add`).
typedef uint32_t ckpt_value_id;

/// Operation kinds. New kinds are appended in later minors; a host rejects kinds it does not know
/// with CKPT_ERR_UNSUPPORTED.
typedef int32_t ckpt_op_kind;
#define CKPT_OP_COPY 1        /* inputs[0] unchanged */
#define CKPT_OP_TRANSPOSE 2   /* ints = permutation of axes (empty: reverse all axes) */
#define CKPT_OP_SPLIT 3       /* chunk `index` of `count` equal chunks along `axis` */
#define CKPT_OP_CONCAT 4      /* all inputs joined along `axis` */
#define CKPT_OP_ROW_PERMUTE 5 /* output row r = input row ints[r] (rows = slices along axis 0) */
#define CKPT_OP_SCALE 6       /* inputs[0] * scalar, computed in the input's float type */
#define CKPT_OP_ADD 7         /* element-wise sum of all inputs (same shape and dtype) */
#define CKPT_OP_CAST 8        /* inputs[0] converted to `dtype` */
#define CKPT_OP_RESHAPE 9     /* same bytes, shape = ints */
#define CKPT_OP_GENERATE 10   /* no inputs; `generator`, `dtype`, shape = ints, `scalar` */
#define CKPT_OP_KERNEL 11     /* plugin-supplied computation, see ckpt_kernel */

/// Generators for CKPT_OP_GENERATE.
typedef int32_t ckpt_generator;
#define CKPT_GEN_FILL 1     /* every element = scalar */
#define CKPT_GEN_TRIL 2     /* ones on and below the diagonal of the last two axes, zeros above */
#define CKPT_GEN_INV_FREQ 3 /* 1 / scalar^(2i/dim) for i in [0, dim/2): ints = {dim/2}, scalar = base */
#define CKPT_GEN_ARANGE 4   /* 0, 1, 2, ... over the flattened shape */

/// What a custom kernel receives: every input fully materialised, and an output buffer of
/// `output->nbytes` bytes to fill. All pointers are valid for the duration of `run` only.
typedef struct ckpt_kernel_io {
    uint32_t struct_size;
    uint32_t input_count;
    const ckpt_tensor_info* const* inputs;
    const void* const* input_data;
    const ckpt_tensor_info* output;
    void* output_data;
} ckpt_kernel_io;

/// A plugin-supplied computation. `run` may be called from any thread, once per execution of
/// the op. `release` (may be NULL) is called by the host once the plan is destroyed; the
/// plugin's library stays loaded until after that.
typedef struct ckpt_kernel {
    uint32_t struct_size;
    void* ctx;
    ckpt_status (*run)(void* ctx, const ckpt_kernel_io* io);
    void (*release)(void* ctx);
} ckpt_kernel;

/// One operation. Fields an op kind does not use are ignored (set them to zero).
typedef struct ckpt_op {
    uint32_t struct_size;
    ckpt_op_kind kind;
    /// Name of the output tensor; empty for a temporary used only as another op's input.
    ckpt_str output;
    const ckpt_value_id* inputs;
    size_t input_count;
    int64_t axis;
    int64_t index;
    int64_t count;
    const int64_t* ints;
    size_t int_count;
    double scalar;
    ckpt_dtype dtype;
    ckpt_generator generator;
    /// For CKPT_OP_KERNEL: output dtype is `dtype`, output shape is `ints`.
    ckpt_kernel kernel;
} ckpt_op;

/// Function table the host gives plugins (`ckpt_host.plan`). Thread-compatible: one plan is built
/// from one thread.
typedef struct ckpt_plan_api {
    uint32_t struct_size;
    /// The source inventory, in source order.
    size_t (*input_count)(const ckpt_plan* plan);
    ckpt_status (*input_info)(const ckpt_plan* plan, size_t index, ckpt_tensor_info* out);
    /// Refers to input tensor `name`; marks it matched. CKPT_ERR_NOT_FOUND if absent.
    ckpt_status (*input)(ckpt_plan* plan, ckpt_str name, ckpt_value_id* out);
    /// Appends an op; `*out` receives its value id (may be NULL when not needed). Shapes and
    /// dtypes are checked here; a mismatch returns CKPT_ERR_INVALID_ARGUMENT with a message.
    ckpt_status (*add)(ckpt_plan* plan, const ckpt_op* op, ckpt_value_id* out);
    /// Marks an input tensor as matched without producing anything from it (a drop rule).
    ckpt_status (*drop)(ckpt_plan* plan, ckpt_str name);
    /// Shape and dtype of a value (input or op result).
    ckpt_status (*value_info)(const ckpt_plan* plan, ckpt_value_id value, ckpt_tensor_info* out);
    /// Records `Matched <old> -> <new>` for `--debug`.
    void (*note_match)(ckpt_plan* plan, ckpt_str old_key, ckpt_str new_key);
} ckpt_plan_api;

#ifdef __cplusplus
}
#endif

#endif /* CKPTCONV_PLAN_H */
