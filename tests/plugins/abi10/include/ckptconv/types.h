/* SPDX-License-Identifier: Apache-2.0 */
/* Basic ABI types shared by every SDK header: strings, statuses, dtypes, export macros. */
#ifndef CKPTCONV_TYPES_H
#define CKPTCONV_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define CKPT_EXTERN_C extern "C"
#define CKPT_NOEXCEPT noexcept
#else
#define CKPT_EXTERN_C
#define CKPT_NOEXCEPT
#endif

#if defined(_WIN32)
#define CKPT_EXPORT __declspec(dllexport)
#else
#define CKPT_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// A UTF-8 string view: `data` need not be NUL-terminated. Borrowed: valid only for the duration
/// of the call that receives it unless the receiving function says otherwise. The receiver copies
/// what it wants to keep. `{NULL, 0}` is the empty string.
typedef struct ckpt_str {
    const char* data;
    size_t size;
} ckpt_str;

/// Status returned by every ABI call. 0 is success. Codes are fixed for the life of major 1.
/// On failure the callee may first hand a message to the host (`ckpt_host.set_error`).
typedef int32_t ckpt_status;
#define CKPT_OK 0
#define CKPT_ERR_INVALID_ARGUMENT 1 /* a NULL or malformed argument */
#define CKPT_ERR_NOT_FOUND 2        /* a key, tensor or model that is not there */
#define CKPT_ERR_TYPE 3             /* a config node or tensor of another kind/dtype */
#define CKPT_ERR_CONFIG_CONVERSION 4 /* the Model Zoo's ConfigConversionError */
#define CKPT_ERR_UNSUPPORTED 5      /* a valid request this side cannot honour */
#define CKPT_ERR_BAD_INPUT 6        /* corrupt or malformed file content */
#define CKPT_ERR_IO 7               /* the operating system refused a read or write */
#define CKPT_ERR_NO_MEMORY 8
#define CKPT_ERR_INTERNAL 9         /* a bug; the message says where */

/// Element types. Values are fixed for the life of major 1; new types are appended.
typedef int32_t ckpt_dtype;
#define CKPT_DTYPE_INVALID 0
#define CKPT_DTYPE_F64 1
#define CKPT_DTYPE_F32 2
#define CKPT_DTYPE_F16 3
#define CKPT_DTYPE_BF16 4
#define CKPT_DTYPE_F8_E4M3 5
#define CKPT_DTYPE_F8_E5M2 6
#define CKPT_DTYPE_I64 7
#define CKPT_DTYPE_I32 8
#define CKPT_DTYPE_I16 9
#define CKPT_DTYPE_I8 10
#define CKPT_DTYPE_U64 11
#define CKPT_DTYPE_U32 12
#define CKPT_DTYPE_U16 13
#define CKPT_DTYPE_U8 14
#define CKPT_DTYPE_BOOL 15
#define CKPT_DTYPE_C64 16
#define CKPT_DTYPE_C128 17
#define CKPT_DTYPE_COUNT 18 /* one past the last valid value in this minor */

/// Size in bytes of one element, 0 for an unknown dtype.
static inline size_t ckpt_dtype_size(ckpt_dtype d)
{
    switch (d) {
    case CKPT_DTYPE_F64: case CKPT_DTYPE_I64: case CKPT_DTYPE_U64: case CKPT_DTYPE_C64: return 8;
    case CKPT_DTYPE_F32: case CKPT_DTYPE_I32: case CKPT_DTYPE_U32: return 4;
    case CKPT_DTYPE_F16: case CKPT_DTYPE_BF16: case CKPT_DTYPE_I16: case CKPT_DTYPE_U16: return 2;
    case CKPT_DTYPE_F8_E4M3: case CKPT_DTYPE_F8_E5M2: case CKPT_DTYPE_I8: case CKPT_DTYPE_U8:
    case CKPT_DTYPE_BOOL: return 1;
    case CKPT_DTYPE_C128: return 16;
    default: return 0;
    }
}

/// Log levels for `ckpt_host.log`.
#define CKPT_LOG_DEBUG 0
#define CKPT_LOG_INFO 1
#define CKPT_LOG_WARNING 2
#define CKPT_LOG_ERROR 3

#ifdef __cplusplus
}
#endif

#endif /* CKPTCONV_TYPES_H */
