#include "cpu/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace sl4j::cpu {

namespace {

// Set while a thread runs a chunk of a parallel_for: nested calls then run
// inline instead of waiting on workers that are all busy with the outer call.
thread_local bool t_in_task = false;

int default_threads() {
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : (int)hc;
}

// How long a worker (and a caller waiting for its workers) spins before it
// sleeps. A decode step is ~100 jobs a few tens of microseconds apart; waking a
// sleeping thread through the kernel costs about as much as a small job, so
// waiting briefly in user space keeps the workers on hand between the ops of a
// step, and they still sleep between steps the caller spaces out.
// SL4J_SPIN_US overrides it (0: always sleep).
std::chrono::microseconds spin_budget() {
    static const std::chrono::microseconds us = [] {
        const char* env = std::getenv("SL4J_SPIN_US");
        const long v = env != nullptr ? std::strtol(env, nullptr, 10) : 200;
        return std::chrono::microseconds(v < 0 ? 0 : v);
    }();
    return us;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spin until done() or the budget is spent; true when done() was seen.
template <class Pred>
bool spin_until(Pred done) {
    const auto budget = spin_budget();
    if (budget.count() == 0) return done();
    const auto until = std::chrono::steady_clock::now() + budget;
    for (int i = 0;; ++i) {
        if (done()) return true;
        cpu_relax();
        if ((i & 63) == 63 && std::chrono::steady_clock::now() >= until) return done();
    }
}

// Workers wait for a job -- spinning briefly, then on a condition variable; a
// job is published by bumping `generation_`. Chunks are handed out through an
// atomic counter so a worker delayed by another process does not hold up the
// others, and the caller waits only for the workers that entered the job, so a
// worker that has not woken yet (its core taken by another process) costs nothing.
class Pool {
public:
    ~Pool() { stop_workers(); }

    // Lock-free once started: a task of a running job may ask (e.g. a matmul
    // nested in a parallel_for), and its caller holds submit_mu_ until the job ends.
    int threads() {
        if (started_.load(std::memory_order_acquire)) return n_threads_.load(std::memory_order_relaxed);
        std::lock_guard<std::mutex> lk(submit_mu_);
        ensure_started();
        return n_threads_;
    }

    void set_threads(int n) {
        std::lock_guard<std::mutex> lk(submit_mu_);
        const int want = n <= 0 ? default_threads() : n;
        if (started_ && want == n_threads_) return;
        stop_workers();
        n_threads_ = want;
        start_workers();
    }

    // Callers on different threads (two sessions decoding at once) are served one
    // job at a time: submit_mu_ is held from publishing a job until every worker
    // has left it, so jobs never mix and a worker never sees a half-set job.
    void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
        std::lock_guard<std::mutex> lk(submit_mu_);
        ensure_started();
        if (grain < 1) grain = 1;
        const int64_t max_chunks = (n + grain - 1) / grain;
        if (n_threads_ == 1 || max_chunks <= 1) {
            run_inline(n, fn);
            return;
        }
        // a few chunks per thread balance load without much counter traffic
        int64_t n_chunks = std::min<int64_t>(max_chunks, (int64_t)n_threads_ * 4);
        {
            std::lock_guard<std::mutex> g(mu_);
            fn_ = &fn;
            n_ = n;
            n_chunks_ = n_chunks;
            next_.store(0);
            error_ = nullptr;
            entry_.store(0, std::memory_order_release);  // open: workers may join
            generation_.fetch_add(1, std::memory_order_release);
        }
        cv_work_.notify_all();
        work();
        // Every chunk is taken: close the job and wait only for the workers inside it. A worker
        // that has not woken yet (descheduled by another process) no longer holds the caller up;
        // it finds the job closed and goes back to waiting.
        entry_.fetch_or(kClosed, std::memory_order_acq_rel);
        auto all_left = [&] { return entry_.load(std::memory_order_acquire) == kClosed; };
        if (!spin_until(all_left)) {
            std::unique_lock<std::mutex> g(mu_);
            cv_done_.wait(g, all_left);
        }
        std::lock_guard<std::mutex> g(mu_);
        fn_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    static void run_inline(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
        const bool was = t_in_task;
        t_in_task = true;
        try {
            fn(0, n);
        } catch (...) {
            t_in_task = was;
            throw;
        }
        t_in_task = was;
    }

    // Take chunks until none are left; the first exception is kept for the caller.
    void work() {
        t_in_task = true;
        for (;;) {
            const int64_t c = next_.fetch_add(1);
            if (c >= n_chunks_) break;
            const int64_t begin = n_ * c / n_chunks_, end = n_ * (c + 1) / n_chunks_;
            if (begin >= end) continue;
            try {
                (*fn_)(begin, end);
            } catch (...) {
                std::lock_guard<std::mutex> g(mu_);
                if (!error_) error_ = std::current_exception();
            }
        }
        t_in_task = false;
    }

    // `seen` is the generation current when the worker was created, read before
    // any job of this pool's lifetime could be published.
    void worker_loop(uint64_t seen) {
        for (;;) {
            auto woken = [&] {
                return stop_.load(std::memory_order_acquire) ||
                       generation_.load(std::memory_order_acquire) != seen;
            };
            if (!spin_until(woken)) {
                std::unique_lock<std::mutex> g(mu_);
                cv_work_.wait(g, woken);
            }
            if (stop_.load(std::memory_order_acquire)) return;
            seen = generation_.load(std::memory_order_acquire);
            if (!join()) continue;  // the job ended before this worker woke
            work();
            if (entry_.fetch_sub(1, std::memory_order_acq_rel) == kClosed + 1) {
                // under the lock, so a caller between its check and its wait cannot miss it
                std::lock_guard<std::mutex> g(mu_);
                cv_done_.notify_one();
            }
        }
    }

    // Enters the published job unless its caller has closed it. A worker that joins a job
    // published after the one it woke for runs that job's chunks, which is just as correct:
    // chunks are claimed through next_, and the caller waits for everyone inside.
    bool join() {
        int64_t e = entry_.load(std::memory_order_acquire);
        while ((e & kClosed) == 0)
            if (entry_.compare_exchange_weak(e, e + 1, std::memory_order_acq_rel, std::memory_order_acquire))
                return true;
        return false;
    }

    void ensure_started() {
        if (started_) return;
        n_threads_ = default_threads();
        start_workers();
    }

    void start_workers() {
        uint64_t gen;
        {
            std::lock_guard<std::mutex> g(mu_);
            stop_.store(false);
            gen = generation_.load();
        }
        for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
        started_ = true;
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> g(mu_);
            stop_.store(true);
        }
        cv_work_.notify_all();
        for (std::thread& t : workers_) t.join();
        workers_.clear();
        started_ = false;
    }

    std::mutex submit_mu_;  // one job at a time, and no resize during a job
    std::mutex mu_;
    std::condition_variable cv_work_, cv_done_;
    std::vector<std::thread> workers_;
    std::atomic<int> n_threads_{1};
    std::atomic<bool> started_{false};
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> generation_{0};
    const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
    int64_t n_ = 0, n_chunks_ = 0;
    std::atomic<int64_t> next_{0};
    // Workers inside the current job, plus kClosed once its caller has taken the last chunk.
    // Closed between jobs, so a worker cannot enter before the next job's fields are set.
    static constexpr int64_t kClosed = int64_t(1) << 40;
    std::atomic<int64_t> entry_{kClosed};
    std::exception_ptr error_;
};

Pool& pool() {
    static Pool p;
    return p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (t_in_task) {
        fn(0, n);
        return;
    }
    pool().run(n, grain, fn);
}

void set_threads(int n) {
    SL4J_CHECK_ARG(n >= 0, "set_threads: thread count must be >= 0, got %d", n);
    SL4J_CHECK_ARG(!t_in_task, "set_threads: cannot resize the pool from inside a pool task");
    pool().set_threads(n);
}

int threads() { return pool().threads(); }

}  // namespace sl4j::cpu
