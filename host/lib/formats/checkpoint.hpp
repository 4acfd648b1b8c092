// SPDX-License-Identifier: Apache-2.0
// A checkpoint as read from any container: its value tree with lazily readable tensors.
#pragma once

#include "core/node.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

/// What a container reader returns. Tensors inside `root` keep the files they came from mapped
/// or open for as long as they live.
struct Checkpoint {
    /// Container name: "safetensors", "pytorch", "mdl-h5-0.4", "mdl-h5-2.5", "mdl-pickle", ...;
    /// sharded inputs append "-sharded".
    std::string format;
    /// Every file that was read (index first, then shards).
    std::vector<std::filesystem::path> files;
    /// A flat state dict (map of name -> tensor) for Hugging Face files; the whole nested
    /// checkpoint (`model`, `optimizer`, `__metadata__`, ...) for Cerebras files.
    Node root = Node::map();
    /// File-level string metadata (safetensors `__metadata__`, HDF5 root attributes, ...).
    std::vector<std::pair<std::string, std::string>> metadata;
    /// For sharded inputs: tensor name -> shard file name.
    std::map<std::string, std::string> shard_of;
    /// Facts worth telling the user (a fallback taken, a repaired tie, ...).
    std::vector<std::string> notes;
};

} // namespace ckpt
