// SPDX-License-Identifier: Apache-2.0
// `.mdl` files that are torch pickles (cs-1.9 and earlier): detection and delegation to the
// torch container.
#pragma once

#include "formats/checkpoint.hpp"

#include <filesystem>
#include <string_view>

namespace ckpt::detail {

/// True when `head` starts a torch.save zip or a legacy torch pickle.
bool is_torch_file(std::string_view head);

/// read_torch, relabelled as format "mdl-pickle".
Checkpoint read_mdl_torch(const std::filesystem::path& path);

} // namespace ckpt::detail
