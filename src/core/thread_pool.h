// A fixed pool of worker threads for data-parallel loops.
//
// The calling thread takes part as thread 0, so ThreadPool(1) runs everything
// inline with no extra threads. Tasks are handed out dynamically (an atomic
// counter), so uneven tasks balance themselves. Not re-entrant: do not call
// parallel_for from inside a task. One caller at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fptq {

class ThreadPool {
 public:
  // n_threads >= 1 (values < 1 are treated as 1). Throws fptq::Error when
  // n_threads > max_threads() or the system cannot start a thread (the
  // threads already started are joined first).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(task, thread) for every task in [0, n_tasks), thread in
  // [0, size()). Blocks until all tasks are done. Exceptions thrown by fn are
  // rethrown (the first one) in the caller after all workers stop.
  void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

  // Number of hardware threads (at least 1).
  static int hardware_threads();

  // The most threads a pool may have: kThreadsPerCore per hardware thread,
  // at most kMaxThreadsCap (a bound on every user's --threads: a huge value
  // would exhaust the process table for every program on the machine).
  static int max_threads();
  static constexpr int kThreadsPerCore = 4;
  static constexpr int kMaxThreadsCap = 1024;

 private:
  void worker_loop(int thread);
  // Claims and runs tasks of generation `gen` until none are left.
  void run_tasks(uint32_t gen, int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t sleep_gen_ = 0;  // guarded by mu_; mirrors the generation for sleepers
  bool stop_ = false;       // guarded by mu_
  // The current loop: (generation << 32) | next task index. A task is claimed
  // by a compare-exchange that also proves the generation did not change, so
  // a worker that wakes late can never run a task of a finished loop.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<const std::function<void(int64_t, int)>*> fn_{nullptr};
  std::atomic<int64_t> n_tasks_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // guarded by error_mu_
  std::mutex error_mu_;
};

}  // namespace fptq
