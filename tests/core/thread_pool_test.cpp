#include "core/thread_pool.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

namespace fptq {

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](int64_t t, int thread) {
        ASSERT_GE(thread, 0);
        ASSERT_LT(thread, threads);
        hits[t].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "task " << i;
    }
  }
}

TEST(ThreadPool, ManyBackToBackCalls) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep) pool.parallel_for(4, [&](int64_t t, int) { sum += t; });
  EXPECT_EQ(sum.load(), 2000 * 6);
}

TEST(ThreadPool, RethrowsTaskException) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10,
                                 [&](int64_t t, int) {
                                   if (t == 5) throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  // still usable afterwards
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](int64_t, int) { ++n; });
  EXPECT_EQ(n.load(), 10);
}

}  // namespace fptq

namespace fptq {

// Many short loops with varying sizes: a worker that wakes late must never
// run a task of a finished loop (each loop checks its own task set).
TEST(ThreadPool, LateWorkersNeverRunStaleTasks) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 20000; ++rep) {
    const int64_t n = 1 + rep % 5;
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t t, int) { hits[t].fetch_add(1); });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "rep " << rep << " task " << i;
  }
}

// --threads is bounded: the largest pool the machine allows still runs every
// task; one more thread is refused with an error (never std::terminate or a
// process table exhausted for everyone else).
TEST(ThreadPool, BoundedByTheMachine) {
  const int most = ThreadPool::max_threads();
  EXPECT_GE(most, ThreadPool::hardware_threads());
  EXPECT_LE(most, ThreadPool::kMaxThreadsCap);
  EXPECT_THROW(ThreadPool(most + 1), Error);
  ThreadPool pool(std::min(most, 16));
  std::vector<std::atomic<int>> hits(100);
  pool.parallel_for(100, [&](int64_t i, int) { hits[size_t(i)]++; });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
}

}  // namespace fptq
