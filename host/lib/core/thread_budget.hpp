// SPDX-License-Identifier: Apache-2.0
// How many threads ckptconv may keep busy with CPU work at once (`--threads`, CKPTCONV_THREADS).
#pragma once

namespace ckpt {

/// The threads CPU work may use, the calling thread included: what set_thread_budget() chose,
/// else every core (std::thread::hardware_concurrency(), 1 when unknown). Thread safe.
unsigned thread_budget();

/// Limits CPU work to `threads` (at least 1). Takes effect for pools created after the call (the
/// worker pool is created on first use), so the CLI calls it before any work starts.
void set_thread_budget(unsigned threads);

} // namespace ckpt
