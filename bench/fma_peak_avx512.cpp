// Compiled with the avx512 flags (bench/CMakeLists.txt); called only when the
// CPU supports avx512.
#include <immintrin.h>

#include "fma_peak.h"

namespace fptq::bench {

float fma_loop_avx512(int64_t iters) {
  // acc = acc * 0.999999 + 1e-6 converges to 1: no overflow, no denormals.
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
  __m512 acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
  for (int64_t t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  float lanes[sizeof(__m512) / sizeof(float)];
  _mm512_storeu_ps(lanes, s);
  return lanes[0];
}

}  // namespace fptq::bench

namespace fptq::bench {

int32_t int8_loop_avx512(int64_t iters) {
  // u8 1 x s8 1 per byte: each vpdpbusd adds 4 per lane; no overflow for
  // iters < 2^29.
  const __m512i u = _mm512_set1_epi8(1), s = _mm512_set1_epi8(1);
  __m512i acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  for (int64_t t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      acc[i] = _mm512_dpbusd_epi32(acc[i], u, s);
      __asm__("" : "+v"(acc[i]));  // keep the 12 chains
    }
  }
  __m512i sum = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  return _mm_cvtsi128_si32(_mm512_castsi512_si128(sum));
}

}  // namespace fptq::bench
