// 16-lane f32 vector helpers for AVX-512 translation units (compile with the
// AVX-512 flags). The generic kernels in x86/generic/ are written against this
// interface; x86/avx2/vec.h provides the same one for 8 lanes.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fptq::kernels::avx512 {

struct Vec {
  using Reg = __m512;
  static constexpr int kLanes = 16;

  // Lanes [0, n) set; n may exceed kLanes.
  static __mmask16 first_n(int64_t n) {
    return n >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << (n < 0 ? 0 : n)) - 1u);
  }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float v) { return _mm512_set1_ps(v); }
  static Reg loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  // Loads p[0, n) (n < kLanes), zero elsewhere; never touches p[n...].
  static Reg load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
  // Stores lanes [0, n) to p[0, n); never touches p[n...].
  static void store_n(float* p, Reg v, int64_t n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
  // Lanes [0, n) of v, zero elsewhere.
  static Reg keep_n(Reg v, int64_t n) { return _mm512_maskz_mov_ps(first_n(n), v); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }  // a*b + c
  // Fixed pairwise tree (halves, then quarters, ...): deterministic.
  static float reduce_add(Reg v) {
    const __m256 h =
        _mm256_add_ps(_mm512_castps512_ps256(v),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float reduce_max(Reg v) { return _mm512_reduce_max_ps(v); }
  // Round to nearest integer (ties to even), as float.
  static Reg round(Reg v) {
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^e for integer-valued e in [-126, 127].
  static Reg pow2(Reg e) {
    const __m512i bits =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(e), _mm512_set1_epi32(127)), 23);
    return _mm512_castsi512_ps(bits);
  }
};

}  // namespace fptq::kernels::avx512
