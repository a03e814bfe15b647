// The roofline probe shared by the kernel benchmarks: FP32 FMA peak, int8
// dot-product peak, streaming read bandwidth, each per wall second and per
// CPU-second of the process (robust when other jobs share the machine).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/timer.h"
#include "kernels/dispatch.h"

namespace fptq::bench {

// CPU seconds used by this process so far (all threads).
double process_cpu_seconds();

// A rate per wall second and per CPU-second of the process.
struct Rate {
  double wall = 0.0;
  double cpu = 0.0;
};

// Times `fn` (best of 3) doing `work` units; returns units per second.
template <class Fn>
Rate best_rate(double work, Fn&& fn) {
  Rate best;
  for (int rep = 0; rep < 3; ++rep) {
    const double c0 = process_cpu_seconds();
    Timer t;
    fn();
    const double wall = t.elapsed(), cpu = process_cpu_seconds() - c0;
    best.wall = std::max(best.wall, work / wall);
    best.cpu = std::max(best.cpu, work / cpu);
  }
  return best;
}

// FP32 FMA peak in GFLOP/s with `threads` threads (isa: Avx2 or Avx512Vnni).
Rate measure_fma_peak(kernels::Isa isa, int threads);
// Int8 dot-product peak in GOP/s (1 multiply-add = 2 ops) with `threads`
// threads: vpdpbusd (Avx512Vnni) or vpmaddubsw + vpmaddwd + vpaddd (Avx2),
// 12 independent accumulators.
Rate measure_int8_peak(kernels::Isa isa, int threads);
// Streaming read bandwidth in GB/s (active ISA's dot_f32 over 256 MiB).
Rate measure_read_bw(int threads);

}  // namespace fptq::bench
