// 8-lane f32 vector helpers for AVX2+FMA translation units (compile with the
// AVX2 flags). Same interface as x86/avx512/vec.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fptq::kernels::avx2 {

struct Vec {
  using Reg = __m256;
  static constexpr int kLanes = 8;

  // All-ones in lanes [0, n); n may exceed kLanes or be negative.
  static __m256i first_n(int64_t n) {
    const int c = n >= kLanes ? kLanes : (n < 0 ? 0 : int(n));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  // Loads p[0, n) (n < kLanes), zero elsewhere; never touches p[n...].
  static Reg load_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, first_n(n)); }
  // Stores lanes [0, n) to p[0, n); never touches p[n...].
  static void store_n(float* p, Reg v, int64_t n) { _mm256_maskstore_ps(p, first_n(n), v); }
  // Lanes [0, n) of v, zero elsewhere.
  static Reg keep_n(Reg v, int64_t n) { return _mm256_and_ps(v, _mm256_castsi256_ps(first_n(n))); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }  // a*b + c
  // Fixed pairwise tree: deterministic.
  static float reduce_add(Reg v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float reduce_max(Reg v) {
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  // Round to nearest integer (ties to even), as float.
  static Reg round(Reg v) {
    return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^e for integer-valued e in [-126, 127].
  static Reg pow2(Reg e) {
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(e), _mm256_set1_epi32(127)), 23);
    return _mm256_castsi256_ps(bits);
  }
};

}  // namespace fptq::kernels::avx2
