// Compiled with the avx2 flags (bench/CMakeLists.txt); called only when the
// CPU supports avx2.
#include <immintrin.h>

#include "fma_peak.h"

namespace fptq::bench {

float fma_loop_avx2(int64_t iters) {
  // acc = acc * 0.999999 + 1e-6 converges to 1: no overflow, no denormals.
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  __m256 acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  for (int64_t t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  float lanes[sizeof(__m256) / sizeof(float)];
  _mm256_storeu_ps(lanes, s);
  return lanes[0];
}

}  // namespace fptq::bench

namespace fptq::bench {

int32_t int8_loop_avx2(int64_t iters) {
  // The accumulator doubles as the u8 operand, so nothing is loop-invariant
  // (values wrap harmlessly; the int16 step saturates). 12 chains of 3 ops.
  const __m256i s = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
  __m256i acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
  for (int64_t t = 0; t < iters; ++t) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(acc[i], s), ones));
    }
  }
  __m256i sum = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < 12; ++i) sum = _mm256_add_epi32(sum, acc[i]);
  return _mm_cvtsi128_si32(_mm256_castsi256_si128(sum));
}

}  // namespace fptq::bench
