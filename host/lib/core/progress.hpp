// SPDX-License-Identifier: Apache-2.0
// A progress bar on stderr (bytes, rate, ETA) for long writes; silent unless enabled, which the
// CLI does only when stderr is a terminal and --no-progress-bar is absent.
#pragma once

#include "core/tensor.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ckpt {

class ProgressBar {
public:
    ProgressBar(std::string label, uint64_t total_bytes, bool enabled);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// Records `bytes` more done; redraws at most ten times a second.
    void advance(uint64_t bytes);
    /// Draws the final state and ends the line (also done by the destructor).
    void finish();
    /// Bytes recorded so far.
    uint64_t done() const { return m_done; }

private:
    void draw(bool final);
    std::string m_label;
    uint64_t m_total;
    uint64_t m_done = 0;
    bool m_enabled;
    bool m_finished = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last_draw;
};

/// The same tensors, each reporting the bytes it hands out to `bar` (a zero-copy `data()` counts
/// the whole tensor once; bytes a writer copies in stored form count through note_bytes_copied).
/// They pass their source through passthrough_of(). `bar` must outlive the returned tensors' use.
std::vector<NamedTensor> with_progress(const std::vector<NamedTensor>& tensors, ProgressBar& bar);

/// "1.5 GiB", "320 KiB", "12 B".
std::string human_bytes(uint64_t bytes);

} // namespace ckpt
