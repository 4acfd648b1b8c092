// SPDX-License-Identifier: Apache-2.0
// A progress bar on stderr for long writes.
#include "core/progress.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <map>

namespace ckpt {

std::string human_bytes(uint64_t n)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

ProgressBar::ProgressBar(std::string label, uint64_t total_bytes, bool enabled)
    : m_label(std::move(label)), m_total(total_bytes), m_enabled(enabled),
      m_start(std::chrono::steady_clock::now()), m_last_draw(m_start)
{
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(uint64_t bytes)
{
    m_done += bytes;
    if (!m_enabled)
        return;
    auto now = std::chrono::steady_clock::now();
    if (now - m_last_draw >= std::chrono::milliseconds(100)) {
        m_last_draw = now;
        draw(false);
    }
}

void ProgressBar::finish()
{
    if (m_finished)
        return;
    m_finished = true;
    if (m_enabled)
        draw(true);
}

void ProgressBar::draw(bool final)
{
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const double frac = m_total ? std::min(1.0, static_cast<double>(m_done) / static_cast<double>(m_total)) : 1.0;
    const double rate = secs > 0 ? static_cast<double>(m_done) / secs : 0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string eta = "--:--";
    if (rate > 0 && m_total >= m_done) {
        const auto left = static_cast<long>(static_cast<double>(m_total - m_done) / rate);
        eta = fmt::format("{}:{:02}", left / 60, left % 60);
    }
    std::fprintf(stderr, "\r%s [%s%s] %3.0f%% %s/%s %s/s ETA %s%s", m_label.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), frac * 100, human_bytes(m_done).c_str(),
                 human_bytes(m_total).c_str(), human_bytes(static_cast<uint64_t>(rate)).c_str(), eta.c_str(),
                 final ? "\n" : "");
    std::fflush(stderr);
}

namespace {

class ProgressTensor final : public TensorData {
public:
    ProgressTensor(TensorPtr inner, ProgressBar& bar) : m_inner(std::move(inner)), m_bar(bar) {}
    const TensorInfo& info() const override { return m_inner->info(); }
    const std::byte* data() const override
    {
        const std::byte* p = m_inner->data();
        if (p && !m_counted) {
            m_counted = true;
            m_bar.advance(info().nbytes());
        }
        return p;
    }
    void read(uint64_t offset, std::byte* dst, uint64_t size) const override
    {
        m_inner->read(offset, dst, size);
        if (!m_counted)
            m_bar.advance(size);
    }
    const TensorData* passthrough_of() const override { return m_inner.get(); }
    bool concurrent_reads() const override { return false; } // counts without a lock; and data() counts
    void note_bytes_copied(uint64_t size) const override
    {
        if (!m_counted)
            m_bar.advance(size);
        m_inner->note_bytes_copied(size);
    }

private:
    TensorPtr m_inner;
    ProgressBar& m_bar;
    mutable bool m_counted = false;
};

} // namespace

std::vector<NamedTensor> with_progress(const std::vector<NamedTensor>& tensors, ProgressBar& bar)
{
    std::vector<NamedTensor> out;
    std::map<const TensorData*, TensorPtr> wrapped; // ties stay ties
    for (const auto& t : tensors) {
        auto& w = wrapped[t.tensor.get()];
        if (!w)
            w = std::make_shared<ProgressTensor>(t.tensor, bar);
        out.push_back({t.name, w});
    }
    return out;
}

} // namespace ckpt
