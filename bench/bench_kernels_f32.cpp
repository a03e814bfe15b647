// bench_kernels_f32: FP32 roofline probe (FMA peak, read bandwidth; 1 and 2
// threads) and matmul_f32 at m = 512 (prefill GEMM), m = 8 (small batch) and
// m = 1 (decode GEMV)
// on the LLaMA/SmolLM shapes, reported as GFLOP/s and % of the peak measured
// in the same run. The active ISA (FPTQ_ISA to override) is printed first.
//
// Every rate is given twice: per wall-clock second (what a user sees) and per
// CPU-second of this process (clock_gettime PROCESS_CPUTIME: what the code
// achieves on the cores it actually got, robust when other jobs share the
// machine). "%peak" compares wall rates with the wall peak for the same
// thread count; "%peak_cpu" compares the per-CPU-second rate with the
// per-CPU-second FMA peak of one core.
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
#include "roofline.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul_f32.h"

namespace fptq::bench {
namespace {

using kernels::Isa;

constexpr int kMaxThreads = 2;

Isa g_probe_isa = Isa::Ref;    // FMA width of the peak probe
Rate g_peak[kMaxThreads + 1];  // GFLOP/s by thread count
Rate g_bw[kMaxThreads + 1];    // GB/s by thread count

void BM_FmaPeak(benchmark::State& st) {
  const int threads = int(st.range(0));
  Rate r;
  for (auto _ : st) r = measure_fma_peak(g_probe_isa, threads);
  st.counters["GFLOP/s"] = r.wall;
  st.counters["cpu_GFLOP/s"] = r.cpu;
  st.SetLabel(kernels::isa_name(g_probe_isa));
}

void BM_ReadBandwidth(benchmark::State& st) {
  const int threads = int(st.range(0));
  Rate r;
  for (auto _ : st) r = measure_read_bw(threads);
  st.counters["GB/s"] = r.wall;
  st.counters["cpu_GB/s"] = r.cpu;
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
  double seconds = 0.0, cpu_seconds = 0.0;
  int64_t calls = 0;
  for (auto _ : st) {
    const double c0 = process_cpu_seconds();
    Timer t;
    kernels::matmul_f32(x.data(), w, y.data(), m, pool);
    seconds += t.elapsed();
    cpu_seconds += process_cpu_seconds() - c0;
    ++calls;
    benchmark::DoNotOptimize(y.data());
  }
  const double gflop = 2.0 * double(m * n * k) * double(calls) / 1e9;
  st.counters["GFLOP/s"] = gflop / seconds;
  st.counters["%peak"] = 100.0 * gflop / seconds / g_peak[threads].wall;
  st.counters["cpu_GFLOP/s"] = gflop / cpu_seconds;
  st.counters["%peak_cpu"] = 100.0 * gflop / cpu_seconds / g_peak[1].cpu;
  if (m <= 8) {  // decode reads every weight once: compare with the bandwidth probe
    const double gb = 4.0 * double(n * k) * double(calls) / 1e9;
    st.counters["W_GB/s"] = gb / seconds;
    st.counters["%bw"] = 100.0 * gb / seconds / g_bw[threads].wall;
  }
}

void register_all() {
  benchmark::RegisterBenchmark("FmaPeak", BM_FmaPeak)->Arg(1)->Arg(2)->Iterations(1)->UseRealTime();
  benchmark::RegisterBenchmark("ReadBandwidth", BM_ReadBandwidth)
      ->Arg(1)
      ->Arg(2)
      ->Iterations(1)
      ->UseRealTime();
  const std::pair<int64_t, int64_t> shapes[] = {
      {576, 576}, {576, 1536}, {1536, 576}, {576, 49152}, {4096, 4096}};  // k x n
  for (int64_t m : {512, 8, 1})  // prefill, a small decode batch, decode
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
  bench::g_probe_isa = isa == kernels::Isa::Ref ? kernels::best_supported_isa() : isa;
  if (bench::g_probe_isa == kernels::Isa::Ref) {
    std::printf("no SIMD FMA on this CPU: no roofline probe\n");
    return 1;
  }
  for (int t = 1; t <= bench::kMaxThreads; ++t) {
    bench::g_peak[t] = bench::measure_fma_peak(bench::g_probe_isa, t);
    bench::g_bw[t] = bench::measure_read_bw(t);
    std::printf(
        "roofline %d thread(s): FMA peak %.1f GFLOP/s (%.1f per CPU-second), read bandwidth "
        "%.1f GB/s (%.1f per CPU-second)\n",
        t, bench::g_peak[t].wall, bench::g_peak[t].cpu, bench::g_bw[t].wall, bench::g_bw[t].cpu);
  }
  std::fflush(stdout);
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
