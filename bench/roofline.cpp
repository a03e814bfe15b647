#include "roofline.h"

#include <benchmark/benchmark.h>
#include <time.h>

#include <vector>

#include "core/thread_pool.h"
#include "fma_peak.h"
#include "kernels/kernel_table.h"

namespace fptq::bench {
namespace {

constexpr int64_t kFmaIters = 20'000'000;
constexpr int64_t kInt8Iters = 20'000'000;
constexpr int64_t kReadFloats = int64_t(64) << 20;  // 256 MiB: far past the L3

bool wide(kernels::Isa isa) { return isa == kernels::Isa::Avx512Vnni; }

const std::vector<float>& read_buffer() {
  static const std::vector<float> buf(size_t(kReadFloats), 1.0f);
  return buf;
}

}  // namespace

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

Rate measure_fma_peak(kernels::Isa isa, int threads) {
  ThreadPool pool(threads);
  const double flops = double(kFmaIters) * 12 * (wide(isa) ? 16 : 8) * 2;
  return best_rate(threads * flops / 1e9, [&] {
    pool.parallel_for(threads, [&](int64_t, int) {
      benchmark::DoNotOptimize(wide(isa) ? fma_loop_avx512(kFmaIters) : fma_loop_avx2(kFmaIters));
    });
  });
}

Rate measure_int8_peak(kernels::Isa isa, int threads) {
  ThreadPool pool(threads);
  const double ops = double(kInt8Iters) * 12 * (wide(isa) ? 64 : 32) * 2;
  return best_rate(threads * ops / 1e9, [&] {
    pool.parallel_for(threads, [&](int64_t, int) {
      benchmark::DoNotOptimize(wide(isa) ? int8_loop_avx512(kInt8Iters)
                                         : int8_loop_avx2(kInt8Iters));
    });
  });
}

Rate measure_read_bw(int threads) {
  ThreadPool pool(threads);
  const auto& k = kernels::active_kernels();
  const float* p = read_buffer().data();
  const int64_t part = kReadFloats / threads;
  return best_rate(double(part * threads) * 4 / 1e9, [&] {
    pool.parallel_for(threads, [&](int64_t i, int) {
      benchmark::DoNotOptimize(k.dot_f32(p + i * part, p + i * part, part));
    });
  });
}

}  // namespace fptq::bench
