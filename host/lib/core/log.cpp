// SPDX-License-Identifier: Apache-2.0
// Logging to stderr with a process-wide verbosity.
#include "core/log.hpp"

#include "core/text.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace ckpt::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;
std::vector<std::string>* g_warnings = nullptr; // guarded by g_mutex
} // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load()); }

void keep_warnings(std::vector<std::string>* into)
{
    std::lock_guard<std::mutex> lock(g_mutex);
    g_warnings = into;
}

void write(Level l, std::string_view message)
{
    const char* prefix = "";
    switch (l) {
    case Level::debug: prefix = "DEBUG "; break;
    case Level::warning: prefix = "WARNING "; break;
    case Level::error: prefix = "ERROR "; break;
    default: break;
    }
    // Messages quote names and values from the files being read: no terminal control gets through.
    const std::string text = escape_control(message, true);
    std::lock_guard<std::mutex> lock(g_mutex);
    if (l == Level::warning && g_warnings)
        g_warnings->emplace_back(message);
    std::fprintf(stderr, "%s%.*s\n", prefix, static_cast<int>(text.size()), text.data());
    std::fflush(stderr);
}

} // namespace ckpt::log
