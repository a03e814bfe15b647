// Roofline probe: FMA throughput with enough independent accumulators to
// hide FMA latency (12 registers: latency 4 x up to 2 FMA/cycle, with room).
#pragma once

#include <cstdint>

namespace fptq::bench {

// Each runs `iters` rounds of 12 independent vector FMAs and returns a value
// that depends on all of them (so nothing is optimized away).
// FLOPs done: iters * 12 * lanes * 2 (lanes = 16 for AVX-512, 8 for AVX2).
float fma_loop_avx512(int64_t iters);
float fma_loop_avx2(int64_t iters);

}  // namespace fptq::bench
