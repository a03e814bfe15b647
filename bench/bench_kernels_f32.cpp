// bench_kernels_f32: FP32 roofline probe (FMA peak, read bandwidth; 1 and 2
// threads) and matmul_f32 at m = 512 (prefill GEMM) and m = 1 (decode GEMV)
// on the LLaMA/SmolLM shapes, reported as GFLOP/s and % of the peak measured
// in the same run. The active ISA (FPTQ_ISA to override) is printed first.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "core/timer.h"
#include "fma_peak.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul_f32.h"

namespace fptq::bench {
namespace {

using kernels::Isa;

constexpr int kMaxThreads = 2;
constexpr int64_t kFmaIters = 20'000'000;
constexpr int64_t kReadFloats = int64_t(64) << 20;  // 256 MiB: far past the L3

// FLOPs of one fma loop call for the ISA whose kernels we measure.
double fma_loop(Isa isa, int64_t iters) {
  if (isa == Isa::Avx512Vnni) return fma_loop_avx512(iters);
  return fma_loop_avx2(iters);
}
double fma_loop_flops(Isa isa, int64_t iters) {
  return double(iters) * 12 * (isa == Isa::Avx512Vnni ? 16 : 8) * 2;
}

// FMA peak in GFLOP/s with `threads` threads, each running the loop (best of 3).
double measure_fma_peak(Isa isa, int threads) {
  ThreadPool pool(threads);
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    Timer t;
    pool.parallel_for(threads, [&](int64_t, int) { benchmark::DoNotOptimize(fma_loop(isa, kFmaIters)); });
    best = std::max(best, threads * fma_loop_flops(isa, kFmaIters) / t.elapsed() / 1e9);
  }
  return best;
}

const std::vector<float>& read_buffer() {
  static const std::vector<float> buf(size_t(kReadFloats), 1.0f);
  return buf;
}

// Streaming read bandwidth in GB/s (the active ISA's dot_f32 of the buffer
// with itself: one load stream, 2 FLOP per 4 bytes), threads split the buffer.
double measure_read_bw(int threads) {
  ThreadPool pool(threads);
  const auto& k = kernels::active_kernels();
  const float* p = read_buffer().data();
  const int64_t part = kReadFloats / threads;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    Timer t;
    pool.parallel_for(threads, [&](int64_t i, int) {
      benchmark::DoNotOptimize(k.dot_f32(p + i * part, p + i * part, part));
    });
    best = std::max(best, double(part * threads) * 4 / t.elapsed() / 1e9);
  }
  return best;
}

double g_peak[kMaxThreads + 1];  // GFLOP/s by thread count
double g_bw[kMaxThreads + 1];    // GB/s by thread count

void BM_FmaPeak(benchmark::State& st) {
  const int threads = int(st.range(0));
  double gflops = 0.0;
  for (auto _ : st) gflops = measure_fma_peak(kernels::active_isa(), threads);
  st.counters["GFLOP/s"] = gflops;
  st.SetLabel(kernels::isa_name(kernels::active_isa()));
}

void BM_ReadBandwidth(benchmark::State& st) {
  const int threads = int(st.range(0));
  double gbs = 0.0;
  for (auto _ : st) gbs = measure_read_bw(threads);
  st.counters["GB/s"] = gbs;
}

// Packed weights per (k, n), shared by the m = 512 / m = 1 and 1/2-thread runs.
const kernels::PackedF32& packed_weights(int64_t k, int64_t n) {
  static std::map<std::pair<int64_t, int64_t>, kernels::PackedF32> cache;
  auto it = cache.find({k, n});
  if (it == cache.end()) {
    std::vector<float> w(size_t(n * k));
    std::mt19937 rng(uint32_t(k * 31 + n));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : w) v = dist(rng);
    it = cache.emplace(std::make_pair(k, n), kernels::pack_f32(w.data(), n, k)).first;
  }
  return it->second;
}

// Args: m, k, n, threads.
void BM_MatmulF32(benchmark::State& st) {
  const int64_t m = st.range(0), k = st.range(1), n = st.range(2);
  const int threads = int(st.range(3));
  const kernels::PackedF32& w = packed_weights(k, n);
  std::vector<float> x(size_t(m * k), 0.5f), y(size_t(m * n));
  ThreadPool pool(threads);
  kernels::matmul_f32(x.data(), w, y.data(), m, pool);  // warm-up
  double seconds = 0.0;
  int64_t calls = 0;
  for (auto _ : st) {
    Timer t;
    kernels::matmul_f32(x.data(), w, y.data(), m, pool);
    seconds += t.elapsed();
    ++calls;
    benchmark::DoNotOptimize(y.data());
  }
  const double gflops = 2.0 * double(m * n * k) * double(calls) / seconds / 1e9;
  st.counters["GFLOP/s"] = gflops;
  st.counters["%peak"] = 100.0 * gflops / g_peak[threads];
  if (m == 1) {  // decode reads every weight once: compare with the bandwidth probe
    const double gbs = 4.0 * double(n * k) * double(calls) / seconds / 1e9;
    st.counters["W_GB/s"] = gbs;
    st.counters["%bw"] = 100.0 * gbs / g_bw[threads];
  }
}

void register_all() {
  benchmark::RegisterBenchmark("FmaPeak", BM_FmaPeak)->Arg(1)->Arg(2)->Iterations(1)->UseRealTime();
  benchmark::RegisterBenchmark("ReadBandwidth", BM_ReadBandwidth)
      ->Arg(1)->Arg(2)->Iterations(1)->UseRealTime();
  const std::pair<int64_t, int64_t> shapes[] = {
      {576, 576}, {576, 1536}, {1536, 576}, {576, 49152}, {4096, 4096}};  // k x n
  for (int64_t m : {512, 1})
    for (const auto& [k, n] : shapes)
      for (int threads : {1, 2})
        benchmark::RegisterBenchmark("MatmulF32", BM_MatmulF32)
            ->Args({m, k, n, threads})
            ->ArgNames({"m", "k", "n", "threads"})
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3)
            ->UseRealTime();
}

}  // namespace
}  // namespace fptq::bench

int main(int argc, char** argv) {
  using namespace fptq;
  benchmark::Initialize(&argc, argv);
  const kernels::Isa isa = kernels::active_isa();
  std::printf("fptq kernels ISA: %s (best supported: %s)\n", kernels::isa_name(isa),
              kernels::isa_name(kernels::best_supported_isa()));
  if (isa == kernels::Isa::Ref)
    std::printf("note: ref ISA; the peak below is still measured with %s FMAs\n",
                kernels::isa_supported(kernels::Isa::Avx512Vnni) ? "AVX-512" : "AVX2");
  const kernels::Isa probe_isa =
      isa == kernels::Isa::Ref ? kernels::best_supported_isa() : isa;
  for (int t = 1; t <= bench::kMaxThreads; ++t) {
    bench::g_peak[t] = probe_isa == kernels::Isa::Ref ? 1.0 : bench::measure_fma_peak(probe_isa, t);
    bench::g_bw[t] = bench::measure_read_bw(t);
    std::printf("roofline %d thread(s): FMA peak %.1f GFLOP/s, read bandwidth %.1f GB/s\n", t,
                bench::g_peak[t], bench::g_bw[t]);
  }
  std::fflush(stdout);
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
