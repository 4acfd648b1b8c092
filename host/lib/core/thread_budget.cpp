// SPDX-License-Identifier: Apache-2.0
// How many threads ckptconv may keep busy with CPU work at once (`--threads`, CKPTCONV_THREADS).
#include "core/thread_budget.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace ckpt {

namespace {
std::atomic<unsigned> g_budget{0}; // 0: not set, every core
}

unsigned thread_budget()
{
    if (const unsigned set = g_budget.load())
        return set;
    return std::max(1u, std::thread::hardware_concurrency());
}

void set_thread_budget(unsigned threads) { g_budget.store(std::max(1u, threads)); }

} // namespace ckpt
