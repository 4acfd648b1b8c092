// SPDX-License-Identifier: Apache-2.0
// The process-wide worker pool that compresses and decompresses LZ4 chunks on every core.
#include "formats/mdl/worker_pool.hpp"

#include "core/log.hpp"
#include "core/thread_budget.hpp"

#include <algorithm>

namespace ckpt::detail {

bool WorkerPool::Batch::run_one()
{
    const size_t i = m_next.fetch_add(1);
    if (i >= m_n)
        return false;
    std::exception_ptr error;
    try {
        m_fn(i);
    } catch (...) {
        error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    if (error && !m_error)
        m_error = error;
    if (++m_done == m_n)
        m_done_cv.notify_all();
    return true;
}

WorkerPool& WorkerPool::shared()
{
    // Created on first use, after the CLI has set the budget (--threads, CKPTCONV_THREADS).
    static WorkerPool& pool = [] () -> WorkerPool& {
        static WorkerPool p(std::clamp(thread_budget(), 1u, kMaxThreads) - 1);
        log::debug("worker pool: {} thread{}", p.threads(), p.threads() == 1 ? "" : "s");
        return p;
    }();
    return pool;
}

WorkerPool::WorkerPool(unsigned workers)
{
    m_threads.reserve(workers);
    for (unsigned i = 0; i < workers; ++i)
        m_threads.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void WorkerPool::work()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    while (true) {
        m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
        if (m_stop)
            return;
        std::shared_ptr<Batch> batch = m_queue.front();
        lock.unlock();
        while (batch->run_one()) {
        }
        lock.lock();
        // Every task of it has started: drop it so the next batch is seen.
        if (!m_queue.empty() && m_queue.front() == batch)
            m_queue.pop_front();
    }
}

std::shared_ptr<WorkerPool::Batch> WorkerPool::submit(size_t n, std::function<void(size_t)> fn)
{
    auto batch = std::make_shared<Batch>(n, std::move(fn));
    if (n > 1 && !m_threads.empty()) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_queue.push_back(batch);
        }
        m_wake.notify_all();
    }
    return batch;
}

void WorkerPool::wait(Batch& batch)
{
    while (batch.run_one()) {
    }
    {
        std::unique_lock<std::mutex> lock(batch.m_mutex);
        batch.m_done_cv.wait(lock, [&] { return batch.m_done == batch.m_n; });
    }
    {
        // The waiter may have started the last task: make sure no worker keeps waking for it.
        std::lock_guard<std::mutex> lock(m_mutex);
        for (auto it = m_queue.begin(); it != m_queue.end(); ++it)
            if (it->get() == &batch) {
                m_queue.erase(it);
                break;
            }
    }
    if (batch.m_error)
        std::rethrow_exception(batch.m_error);
}

void WorkerPool::run(size_t n, std::function<void(size_t)> fn)
{
    auto batch = submit(n, std::move(fn));
    wait(*batch);
}

} // namespace ckpt::detail
