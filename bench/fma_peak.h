// Roofline probes: FMA and int8 dot-product throughput with enough independent accumulators to
// hide FMA latency (12 registers: latency 4 x up to 2 FMA/cycle, with room).
#pragma once

#include <cstdint>

namespace fptq::bench {

// Each runs `iters` rounds of 12 independent vector FMAs and returns a value
// that depends on all of them (so nothing is optimized away).
// FLOPs done: iters * 12 * lanes * 2 (lanes = 16 for AVX-512, 8 for AVX2).
float fma_loop_avx512(int64_t iters);
float fma_loop_avx2(int64_t iters);

// Each runs `iters` rounds of 12 independent int8 dot-product steps (u8 x s8,
// 4 bytes per 32-bit lane) and returns a value that depends on all of them.
// Multiply-adds done: iters * 12 * bytes per register (64 AVX-512, 32 AVX2).
int32_t int8_loop_avx512(int64_t iters);  // vpdpbusd zmm
int32_t int8_loop_avx2(int64_t iters);    // vpmaddubsw + vpmaddwd + vpaddd ymm

}  // namespace fptq::bench
