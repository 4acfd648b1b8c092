// SPDX-License-Identifier: Apache-2.0
// Walks a value tree leaf by leaf with pytree-style dotted paths ("model.lm_head.weight",
// "optimizer.param_groups.0.lr"), the names Cerebras checkpoints and every listing use.
#pragma once

#include "core/node.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

/// Calls `fn(path, leaf)` for every leaf in order. Maps and sequences are descended; an empty
/// map or sequence is itself reported as a leaf (its structure would otherwise vanish).
void for_each_leaf(const Node& root, const std::function<void(const std::string&, const Node&)>& fn);

/// All leaves as (path, pointer into `root`) pairs.
std::vector<std::pair<std::string, const Node*>> leaves(const Node& root);

/// A short human-readable rendering of a non-tensor leaf ("2", "0.001", "'adamw'", "None", ...).
std::string render_leaf(const Node& leaf);

} // namespace ckpt
