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
