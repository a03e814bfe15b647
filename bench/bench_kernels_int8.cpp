// bench_kernels_int8: the integer kernels of the W4A8 engine against the
// roofline measured in the same run (int8 dot-product peak, FP32 FMA peak,
// read bandwidth; 1 and 2 threads).
//
//   W4A8 GEMM/GEMV on SmolLM2 (576x576, 576x192, 576x1536, 1536x576) and
//   LLaMA-7B (4096x4096, 4096x11008, 11008x4096) shapes (k x n), m = 1, 16,
//   64, 512, group 128 (64 where 128 does not divide k); the integer-scale variant and W8A8 on a few shapes;
//   the int8 activation quantizer.
// Counters: GOP/s (2·m·n·k ops), %i8peak (wall rate / wall int8 peak at the
// same thread count), cpu_GOP/s and %i8peak_cpu (per CPU-second, against one
// core's per-CPU-second peak), W_GB/s (packed weight bytes incl. scales per
// second) and %bw (against the read bandwidth at the same thread count).
// The active ISA (FPTQ_ISA to override) is printed first.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/thread_pool.h"
#include "core/timer.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_w4a8.h"
#include "kernels/matmul_w8a8.h"
#include "kernels/quantize_i8.h"
#include "roofline.h"

namespace fptq::bench {
namespace {

using kernels::Isa;

constexpr int kMaxThreads = 2;
// Group 128 where it divides k (7B), else 64 (SmolLM2: 576 = 9·64).
int64_t group_for(int64_t k) { return k % 128 == 0 ? 128 : 64; }

Isa g_probe_isa = Isa::Ref;
Rate g_i8peak[kMaxThreads + 1];  // GOP/s
Rate g_bw[kMaxThreads + 1];      // GB/s

std::vector<int8_t> random_codes(int64_t count, int lo, int hi, uint32_t seed) {
  std::vector<int8_t> v(static_cast<size_t>(count));
  std::mt19937 rng(seed);
  for (auto& c : v) c = int8_t(lo + int(rng() % uint32_t(hi - lo + 1)));
  return v;
}

// Packed weights per (k, n, kind), shared across m and thread counts.
// kW4Nl: IQ4_NL levels; kW4NlG32: IQ4_NL g32 (the default recipe's weights)
// with per-token activation scales; kW4NlG32Act: the same with one activation
// scale per 32 values (the default recipe's +actgroup).
enum Kind { kW4 = 0, kW4IntScale = 1, kW8 = 2, kW4Nl = 3, kW4NlG32 = 4, kW4NlG32Act = 5 };
bool nl_kind(int kind) { return kind == kW4Nl || kind == kW4NlG32 || kind == kW4NlG32Act; }
int64_t kind_group(int kind, int64_t k) {
  return kind == kW8 ? k : kind == kW4NlG32 || kind == kW4NlG32Act ? 32 : group_for(k);
}
struct AnyPacked {
  kernels::PackedW4 w4;
  kernels::PackedW8 w8;
  int64_t bytes = 0;
};
const AnyPacked& packed(int64_t k, int64_t n, int kind, int copy = 0) {
  static std::map<std::tuple<int64_t, int64_t, int, int>, std::unique_ptr<AnyPacked>> cache;
  auto& slot = cache[{k, n, kind, copy}];
  if (!slot) {
    slot = std::make_unique<AnyPacked>();
    const bool w8 = kind == kW8;
    const int64_t g = kind_group(kind, k);  // W8: per-channel
    const auto codes =
        random_codes(n * k, w8 ? -127 : -8, w8 ? 127 : 7, uint32_t(k * 7 + n + copy));
    std::vector<float> scales(size_t(n * (k / g)));
    std::mt19937 rng{uint32_t(n)};
    std::uniform_real_distribution<float> d(0.001f, 0.02f);
    for (float& s : scales) s = d(rng);
    if (w8) {
      slot->w8 = kernels::pack_w8(codes.data(), scales.data(), n, k, g);
      slot->bytes = slot->w8.bytes();
    } else {
      slot->w4 = kernels::pack_w4(codes.data(), scales.data(), n, k, g,
                                  kind == kW4IntScale ? kernels::W4Scale::Integer
                                                      : kernels::W4Scale::Float,
                                  nl_kind(kind) ? kernels::W4Grid::Nl : kernels::W4Grid::Uniform);
      slot->bytes = slot->w4.bytes();
    }
  }
  return *slot;
}

// Weight bytes cycled through by the "cold" runs: well past the 32 MiB L3,
// so every call streams its weights from DRAM.
constexpr double kColdBytes = 160e6;

// Args: m, k, n, threads, kind, cold. cold = 1: cycle through enough
// distinct copies of the weights that none is cache-resident.
void BM_IntMatmul(benchmark::State& st) {
  const int64_t m = st.range(0), k = st.range(1), n = st.range(2);
  const int threads = int(st.range(3));
  const int kind = int(st.range(4));
  const bool cold = st.range(5) != 0;
  int copies = 1;
  if (cold) copies = int(kColdBytes / double(packed(k, n, kind).bytes)) + 1;
  std::vector<const AnyPacked*> ws;
  for (int c = 0; c < copies; ++c) ws.push_back(&packed(k, n, kind, c));
  int64_t next = 0;
  const auto x = random_codes(m * k, -127, 127, 99);
  std::vector<float> xs(size_t(m), 0.01f), y(size_t(m * n));
  const int64_t g = kind == kW8 ? group_for(k) : kind_group(kind, k);
  std::vector<int32_t> sums(size_t(m * (k / g)));
  kernels::group_sums_rows_i8(x.data(), m, k, g, sums.data());
  std::vector<float> xg(size_t(m * (k / 32)), 0.01f);
  const kernels::XGroupScales act_groups{kind == kW4NlG32Act ? xg.data() : nullptr, 32};
  ThreadPool pool(threads);
  auto call = [&] {
    const AnyPacked& w = *ws[size_t(next++ % copies)];
    if (kind == kW8)
      kernels::matmul_w8a8(x.data(), xs.data(), 1, w.w8, y.data(), m, pool);
    else
      kernels::matmul_w4a8(x.data(), xs.data(), 1, sums.data(), w.w4, y.data(), m, pool,
                           act_groups);
  };
  call();  // warm-up
  double seconds = 0.0, cpu_seconds = 0.0;
  int64_t calls = 0;
  for (auto _ : st) {
    const double c0 = process_cpu_seconds();
    Timer t;
    call();
    seconds += t.elapsed();
    cpu_seconds += process_cpu_seconds() - c0;
    ++calls;
    benchmark::DoNotOptimize(y.data());
  }
  const double gop = 2.0 * double(m * n * k) * double(calls) / 1e9;
  const double gb = double(ws[0]->bytes) * double(calls) / 1e9;
  st.counters["GOP/s"] = gop / seconds;
  st.counters["%i8peak"] = 100.0 * gop / seconds / g_i8peak[threads].wall;
  st.counters["cpu_GOP/s"] = gop / cpu_seconds;
  st.counters["%i8peak_cpu"] = 100.0 * gop / cpu_seconds / g_i8peak[1].cpu;
  st.counters["W_GB/s"] = gb / seconds;
  st.counters["%bw"] = 100.0 * gb / seconds / g_bw[threads].wall;
  st.counters["cpu_W_GB/s"] = gb / cpu_seconds;
  st.SetLabel(std::string(kind == kW8           ? "w8a8"
                          : kind == kW4IntScale ? "w4a8-intscale"
                          : kind == kW4Nl       ? "w4a8-iq4nl"
                          : kind == kW4NlG32    ? "w4a8-iq4nl-g32"
                          : kind == kW4NlG32Act ? "w4a8-iq4nl-g32-act32"
                                                : "w4a8") +
              (cold ? " cold(DRAM)" : ""));
}

// Args: m, k. Dynamic per-token quantization; GB/s of f32 input read.
void BM_QuantizeRows(benchmark::State& st) {
  const int64_t m = st.range(0), k = st.range(1);
  std::vector<float> x(static_cast<size_t>(m * k)), scales(static_cast<size_t>(m));
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : x) v = d(rng);
  std::vector<int8_t> q(size_t(m * k));
  for (auto _ : st) {
    kernels::quantize_rows_i8(x.data(), m, k, kernels::ActQuant::dynamic(), q.data(),
                              scales.data());
    benchmark::DoNotOptimize(q.data());
  }
  st.counters["GB/s"] = benchmark::Counter(double(m * k * 4) * double(st.iterations()) / 1e9,
                                           benchmark::Counter::kIsRate);
}

void register_all() {
  const std::pair<int64_t, int64_t> shapes[] = {{576, 576},   {576, 192},    {576, 1536},
                                                {1536, 576},  {4096, 4096},  {4096, 11008},
                                                {11008, 4096}};  // k x n
  for (int64_t m : {1, 16, 64, 512})
    for (const auto& [k, n] : shapes)
      for (int threads : {1, 2})
        benchmark::RegisterBenchmark("W4A8", BM_IntMatmul)
            ->Args({m, k, n, threads, kW4, 0})
            ->ArgNames({"m", "k", "n", "threads", "kind", "cold"})
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3)
            ->UseRealTime();
  for (int64_t m : {1, 512})
    for (int kind : {kW4IntScale, kW8, kW4Nl})
      for (const auto& [k, n] : {std::pair<int64_t, int64_t>{576, 1536}, {4096, 4096}})
        benchmark::RegisterBenchmark(kind == kW8           ? "W8A8"
                                     : kind == kW4IntScale ? "W4A8IntScale"
                                                           : "W4A8Nl",
                                     BM_IntMatmul)
            ->Args({m, k, n, 1, kind, 0})
            ->ArgNames({"m", "k", "n", "threads", "kind", "cold"})
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3)
            ->UseRealTime();
  // The default recipe's product: IQ4_NL g32 with per-token vs per-32
  // activation scales, at the SmolLM2 and 7B shapes, 1 and 512 rows.
  for (int64_t m : {1, 512})
    for (int kind : {kW4NlG32, kW4NlG32Act})
      for (const auto& [k, n] : {std::pair<int64_t, int64_t>{576, 1536}, {1536, 576}, {4096, 4096}})
        benchmark::RegisterBenchmark(kind == kW4NlG32 ? "W4A8NlG32" : "W4A8NlG32Act", BM_IntMatmul)
            ->Args({m, k, n, 1, kind, 0})
            ->ArgNames({"m", "k", "n", "threads", "kind", "cold"})
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.3)
            ->UseRealTime();
  // Decode from DRAM (the 7B weights also fit the L3 one matrix at a time).
  for (const auto& [k, n] : {std::pair<int64_t, int64_t>{4096, 4096}, {4096, 11008}, {11008, 4096}})
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark("W4A8Cold", BM_IntMatmul)
          ->Args({1, k, n, threads, kW4, 1})
          ->ArgNames({"m", "k", "n", "threads", "kind", "cold"})
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.3)
          ->UseRealTime();
  benchmark::RegisterBenchmark("QuantizeRowsDynamic", BM_QuantizeRows)
      ->Args({512, 4096})
      ->Args({1, 4096})
      ->ArgNames({"m", "k"});
}

}  // namespace
}  // namespace fptq::bench

int main(int argc, char** argv) {
  using namespace fptq;
  benchmark::Initialize(&argc, argv);
  const kernels::Isa isa = kernels::active_isa();
  std::printf("fptq kernels ISA: %s (best supported: %s)\n", kernels::isa_name(isa),
              kernels::isa_name(kernels::best_supported_isa()));
  bench::g_probe_isa = isa == kernels::Isa::Ref ? kernels::best_supported_isa() : isa;
  if (bench::g_probe_isa == kernels::Isa::Ref) {
    std::printf("no SIMD on this CPU: no roofline probe\n");
    return 1;
  }
  if (isa == kernels::Isa::Ref)
    std::printf("note: ref ISA; the peaks below are still measured with %s\n",
                kernels::isa_name(bench::g_probe_isa));
  for (int t = 1; t <= bench::kMaxThreads; ++t) {
    bench::g_i8peak[t] = bench::measure_int8_peak(bench::g_probe_isa, t);
    const bench::Rate fma = bench::measure_fma_peak(bench::g_probe_isa, t);
    bench::g_bw[t] = bench::measure_read_bw(t);
    std::printf(
        "roofline %d thread(s): int8 peak %.1f GOP/s (%.1f per CPU-second), FMA peak %.1f "
        "GFLOP/s (%.1f per CPU-second), read bandwidth %.1f GB/s (%.1f per CPU-second)\n",
        t, bench::g_i8peak[t].wall, bench::g_i8peak[t].cpu, fma.wall, fma.cpu,
        bench::g_bw[t].wall, bench::g_bw[t].cpu);
  }
  std::fflush(stdout);
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
