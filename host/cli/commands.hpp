// SPDX-License-Identifier: Apache-2.0
// The sub-commands: each takes its arguments (without its own name) and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace ckpt::cli {

using Args = std::vector<std::string>;

int cmd_list(const Args& args);
int cmd_plugins(const Args& args);
int cmd_inspect(const Args& args);
int cmd_diff(const Args& args);
int cmd_repack(const Args& args);
int cmd_convert(const Args& args);
int cmd_convert_config(const Args& args);
int cmd_fold_lora(const Args& args);

} // namespace ckpt::cli
