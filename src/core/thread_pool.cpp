#include "core/thread_pool.h"

#include <immintrin.h>

#include <exception>

#include "core/error.h"

namespace fptq {

namespace {
constexpr uint64_t kIndexMask = 0xffffffffull;
// Waiting threads spin briefly (loops come back to back during decode), then
// yield the core (the machine may be oversubscribed: a spinning waiter must
// not starve the thread it waits for), and idle workers finally sleep.
constexpr int kSpinIterations = 2000;
constexpr int kYieldIterations = 200;

void pause_or_yield(int iteration) {
  if (iteration < kSpinIterations) {
    _mm_pause();
  } else {
    std::this_thread::yield();
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  if (n_threads_ > max_threads())
    fail("{} threads requested: at most {} on this machine ({} × its {} hardware threads; "
         "more only slows the work down)",
         n_threads_, max_threads(), kThreadsPerCore, hardware_threads());
  try {
    workers_.reserve(size_t(n_threads_ - 1));
    for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  } catch (const std::exception& e) {
    // The system refused a thread (process limits): stop and join the ones
    // started, then report it as bad input (never std::terminate).
    const int started = int(workers_.size()) + 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++sleep_gen_;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    fail("cannot start thread {} of {}: {} (lower --threads)", started + 1, n_threads_, e.what());
  }
}

int ThreadPool::max_threads() {
  const int64_t m = int64_t(kThreadsPerCore) * hardware_threads();
  return int(m < kMaxThreadsCap ? m : kMaxThreadsCap);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ++sleep_gen_;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

void ThreadPool::run_tasks(uint32_t gen, int thread) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (uint32_t(t >> 32) != gen) return;
    const auto* fn = fn_.load();
    const int64_t n = n_tasks_.load();
    const int64_t index = int64_t(t & kIndexMask);
    if (index >= n) return;
    if (!ticket_.compare_exchange_weak(t, t + 1)) continue;  // t reloaded
    // Claimed: the loop cannot finish before done_ counts this task, so fn
    // and n (read under the same generation) stay valid.
    if (!failed_.load(std::memory_order_relaxed)) {
      try {
        (*fn)(index, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);
      }
    }
    done_.fetch_add(1, std::memory_order_acq_rel);
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int thread) {
  uint32_t seen = 0;
  for (;;) {
    // Spin briefly (decode steps come back to back), then sleep.
    uint32_t gen = uint32_t(ticket_.load(std::memory_order_acquire) >> 32);
    for (int i = 0; gen == seen && i < kSpinIterations + kYieldIterations; ++i) {
      pause_or_yield(i);
      gen = uint32_t(ticket_.load(std::memory_order_acquire) >> 32);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || sleep_gen_ != seen; });
      if (stop_) return;
      gen = uint32_t(ticket_.load(std::memory_order_acquire) >> 32);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    seen = gen;
    run_tasks(gen, thread);
  }
}

void ThreadPool::parallel_for(int64_t n_tasks,
                              const std::function<void(int64_t task, int thread)>& fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  FPTQ_CHECK(uint64_t(n_tasks) < kIndexMask);
  // Close the previous loop before touching fn_/n_tasks_: a worker that read
  // the old ticket and then sees the new fn_/n_tasks_ must fail its claim.
  // (Sequentially consistent: the close is ordered before the stores below,
  // so a claim that read the new values cannot succeed against the old ticket.)
  const uint32_t old_gen = uint32_t(ticket_.load() >> 32);
  ticket_.store((uint64_t(old_gen) << 32) | kIndexMask);
  error_ = nullptr;
  failed_.store(false);
  done_.store(0);
  fn_.store(&fn);
  n_tasks_.store(n_tasks);
  const uint32_t gen = old_gen + 1;
  ticket_.store(uint64_t(gen) << 32);
  {
    std::lock_guard<std::mutex> lock(mu_);
    sleep_gen_ = gen;
  }
  cv_.notify_all();
  run_tasks(gen, 0);
  // Wait for tasks other threads claimed; workers that have not woken yet
  // are not waited for (they will find the loop finished).
  for (int i = 0; done_.load(std::memory_order_acquire) != n_tasks; ++i) pause_or_yield(i);
  if (failed_.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(error_mu_);
    std::rethrow_exception(error_);
  }
}

}  // namespace fptq
