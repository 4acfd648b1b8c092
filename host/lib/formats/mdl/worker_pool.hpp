// SPDX-License-Identifier: Apache-2.0
// A small process-wide pool of threads that runs independent pieces of CPU work (LZ4 chunks)
// alongside the thread that submitted them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ckpt::detail {

/// Runs batches of `n` independent tasks `fn(0) … fn(n-1)` on worker threads and on the thread
/// that waits for them, so no waiter ever blocks on a busy pool. Tasks must not call HDF5 (it is
/// serial and guarded by h5_mutex, which the submitting thread usually holds). Thread safe.
class WorkerPool {
public:
    class Batch;

    /// The process's pool: thread_budget() threads in all (every core unless --threads or
    /// CKPTCONV_THREADS says otherwise; capped at kMaxThreads), the caller being one of them; no
    /// worker thread at all with a budget of one.
    static WorkerPool& shared();

    explicit WorkerPool(unsigned workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Threads that work on a batch, counting the waiting caller.
    unsigned threads() const { return static_cast<unsigned>(m_threads.size()) + 1; }

    /// Queues a batch; workers start on it at once. `fn` must stay valid until wait() returns.
    std::shared_ptr<Batch> submit(size_t n, std::function<void(size_t)> fn);
    /// Runs the batch's remaining tasks on this thread, waits for the workers' ones, and rethrows
    /// the first exception a task threw.
    void wait(Batch& batch);
    /// submit + wait.
    void run(size_t n, std::function<void(size_t)> fn);

    static constexpr unsigned kMaxThreads = 8;

private:
    void work();
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Batch>> m_queue;
    bool m_stop = false;
    std::vector<std::thread> m_threads;
};

class WorkerPool::Batch {
public:
    Batch(size_t n, std::function<void(size_t)> fn) : m_n(n), m_fn(std::move(fn)) {}
    /// Runs one not yet started task; false when none is left.
    bool run_one();
    bool started_all() const { return m_next.load() >= m_n; }

private:
    friend class WorkerPool;
    const size_t m_n;
    std::function<void(size_t)> m_fn;
    std::atomic<size_t> m_next{0};
    std::mutex m_mutex;
    std::condition_variable m_done_cv;
    size_t m_done = 0;
    std::exception_ptr m_error;
};

} // namespace ckpt::detail
