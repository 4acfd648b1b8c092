/* SPDX-License-Identifier: Apache-2.0 */
/* The config interface: a host-owned ordered tree that plugins read and write through callbacks. */
#ifndef CKPTCONV_CONFIG_H
#define CKPTCONV_CONFIG_H

#include "ckptconv/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/// One node of a config tree (HF `config.json`, the `model:` section of a CS YAML). Opaque; the
/// host owns every node. A `const ckpt_node*` may only be read; a `ckpt_node*` may be written.
/// Node pointers stay valid until the host destroys the tree (after the call that handed them out
/// returns), except that erasing a map entry or re-kinding a node invalidates its descendants.
typedef struct ckpt_node ckpt_node;

/// Node kinds. Integers and floats are distinct kinds so `1` and `1.0` survive a round trip.
typedef int32_t ckpt_node_kind;
#define CKPT_NODE_NULL 0
#define CKPT_NODE_BOOL 1
#define CKPT_NODE_INT 2
#define CKPT_NODE_FLOAT 3
#define CKPT_NODE_STRING 4
#define CKPT_NODE_LIST 5
#define CKPT_NODE_MAP 6 /* keys are strings, insertion order is kept */

/// Function table the host gives plugins (`ckpt_host.config`). Every function is thread-compatible:
/// calls on one tree must not race; different trees may be used from different threads.
/// Getters return CKPT_ERR_TYPE when the node has another kind and never abort. Strings handed
/// out stay valid until the node is modified or destroyed.
typedef struct ckpt_config_api {
    uint32_t struct_size;

    /* --- reading (ABI 1.0) --- */
    ckpt_node_kind (*kind)(const ckpt_node* node);
    ckpt_status (*get_bool)(const ckpt_node* node, int32_t* out);
    ckpt_status (*get_int)(const ckpt_node* node, int64_t* out);
    /// Accepts INT and FLOAT nodes.
    ckpt_status (*get_float)(const ckpt_node* node, double* out);
    ckpt_status (*get_string)(const ckpt_node* node, ckpt_str* out);
    /// Entries of a MAP or items of a LIST; 0 for any other kind.
    size_t (*size)(const ckpt_node* node);
    /// NULL when out of range or not a LIST.
    const ckpt_node* (*list_at)(const ckpt_node* list, size_t index);
    /// Key of the index-th entry; `{NULL,0}` when out of range or not a MAP.
    ckpt_str (*map_key_at)(const ckpt_node* map, size_t index);
    const ckpt_node* (*map_value_at)(const ckpt_node* map, size_t index);
    /// NULL when the key is absent or the node is not a MAP.
    const ckpt_node* (*map_find)(const ckpt_node* map, ckpt_str key);

    /* --- writing (ABI 1.0) --- */
    /// Each setter replaces the node's value and kind; set_list/set_map make it empty.
    ckpt_status (*set_null)(ckpt_node* node);
    ckpt_status (*set_bool)(ckpt_node* node, int32_t value);
    ckpt_status (*set_int)(ckpt_node* node, int64_t value);
    ckpt_status (*set_float)(ckpt_node* node, double value);
    ckpt_status (*set_string)(ckpt_node* node, ckpt_str value);
    ckpt_status (*set_list)(ckpt_node* node);
    ckpt_status (*set_map)(ckpt_node* node);
    /// The value under `key`, inserted at the end as NULL when absent. NULL if not a MAP.
    ckpt_node* (*map_get_or_insert)(ckpt_node* map, ckpt_str key);
    /// Writable access to an existing entry; NULL when absent or not a MAP.
    ckpt_node* (*map_find_mut)(ckpt_node* map, ckpt_str key);
    /// CKPT_ERR_NOT_FOUND when the key is absent.
    ckpt_status (*map_erase)(ckpt_node* map, ckpt_str key);
    /// Appends a NULL item and returns it; NULL if not a LIST.
    ckpt_node* (*list_append)(ckpt_node* list);
    ckpt_node* (*list_at_mut)(ckpt_node* list, size_t index);
    /// Deep copy of `src` into `dst` (any trees; `src` may even live inside `dst`).
    ckpt_status (*assign)(ckpt_node* dst, const ckpt_node* src);

    /* --- scratch trees (ABI 1.0) --- */
    /// A new, empty MAP owned by the host, for a plugin's working copies (e.g. a config with
    /// defaults filled in). NULL when out of memory. Release it with tree_destroy.
    ckpt_node* (*tree_create)(void);
    /// Destroys a tree made by tree_create (NULL is allowed). Never pass any other node.
    void (*tree_destroy)(ckpt_node* root);
} ckpt_config_api;

#ifdef __cplusplus
}
#endif

#endif /* CKPTCONV_CONFIG_H */
