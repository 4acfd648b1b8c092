// SPDX-License-Identifier: Apache-2.0
// Partial outputs (".<name>.ckptconv-partial-<pid>-<random>") removed when the process is
// interrupted, and stale ones of dead ckptconv processes removed by the next run.
#pragma once

#include <filesystem>
#include <string>

namespace ckpt {

/// The temporary name beside `target` for this process: ".<name>.ckptconv-partial-<pid>-<random>".
std::filesystem::path partial_output_name(const std::filesystem::path& target);

/// Removes, in `dir`, the partial outputs whose name carries the pid of a process that is no
/// longer running (left by `kill -9` or a crash). Never touches other names, or partial outputs
/// of running processes; errors are ignored (the folder may be shared). Returns how many.
int remove_stale_partial_outputs(const std::filesystem::path& dir);

/// Installs SIGINT, SIGTERM and SIGHUP handlers that remove every registered partial output,
/// print "interrupted" and exit with 128 + the signal number (130, 143, 129). Call once, early.
void remove_partial_outputs_on_signals();

/// Registers a partial output (a file, or a folder of files) for removal on those signals.
/// Returns a slot for `forget_partial_output`, or -1 when every slot is taken (then the output
/// is simply not cleaned up on a signal).
int remember_partial_output(const std::filesystem::path& path);
void forget_partial_output(int slot);

} // namespace ckpt
