// SPDX-License-Identifier: Apache-2.0
// torch pytree TreeSpecs as `.mdl` files store them: the shape of a nested state dict without
// its leaves, pickled (layout 0.4) or as torch's `treespec_dumps` JSON (cs-2.5+).
#pragma once

#include "core/node.hpp"

#include <string>
#include <vector>

namespace ckpt::detail {

/// One node of a TreeSpec. Containers keep their keys (dicts) or just their arity (lists,
/// tuples); a leaf is one value stored in the file.
struct TreeSpecNode {
    enum class Type { leaf, dict, list, tuple };
    Type type = Type::leaf;
    std::vector<Node> keys; // dict keys in order (strings or integers)
    std::vector<TreeSpecNode> children;
    /// The Python type as the file named it ("builtins.dict", "collections.OrderedDict", a
    /// namedtuple class, …); informational.
    std::string python_type;

    size_t num_leaves() const;
    size_t num_nodes() const;
};

/// The spec of a value tree as torch's tree_flatten sees it: maps, lists and tuples are
/// containers (empty ones too); everything else (tensors, scalars, strings, None, opaque
/// objects) is a leaf.
TreeSpecNode spec_of(const Node& value);

/// Dotted leaf key paths in flatten order (`model.x.weight`, `optimizer.state.0.step`), as
/// cstorch's recurse_spec builds them: dict keys via str(), sequence indices in decimal.
std::vector<std::string> leaf_keys(const TreeSpecNode& spec);

/// Rebuilds a value tree from a spec and its leaves in flatten order.
Node unflatten(const TreeSpecNode& spec, std::vector<Node>& leaves);

/// The leaves of `value` in flatten order (the counterpart of spec_of).
void flatten_leaves(const Node& value, std::vector<const Node*>& out);

/// Decodes a pickled TreeSpec (the unpickled Node tree: Opaque TreeSpec/LeafSpec objects).
/// `where` names the file for messages. Throws InputError on anything unexpected.
TreeSpecNode spec_from_unpickled(const Node& pickled, const std::string& where);

/// The pickle cstorch 2.3 writes for a spec: protocol 4, torch 2.x dataclass attributes
/// (type, context, children_specs, num_nodes, num_leaves, num_children) and dill's
/// `dill._dill._load_type('dict')` spelling of builtin container types.
std::string spec_to_pickle(const TreeSpecNode& spec);

/// torch's `treespec_dumps` JSON (protocol 1: `[1, {"type", "context", "children_spec"}]`).
std::string spec_to_json(const TreeSpecNode& spec);
/// Parses torch's `treespec_dumps` JSON value (already parsed into a Node).
TreeSpecNode spec_from_json(const Node& json, const std::string& where);

/// Parses JSON text into a Node (objects → maps, arrays → lists). Throws InputError naming
/// `where`. Depth and size are bounded.
Node parse_json(const std::string& text, const std::string& where);
/// Serialises a Node of JSON kinds (null, bool, numbers, strings, lists/tuples, string-keyed
/// maps) as compact JSON.
std::string to_json(const Node& value);

} // namespace ckpt::detail
