// Integer (int8 / int32 / int64) helpers for AVX2 translation units; the same
// interface as x86/avx512/ivec.h (8 lanes, vpmaddubsw + vpmaddwd for dots).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "io/ggml_blocks.h"
#include "kernels/x86/avx2/vec.h"

namespace fptq::kernels::avx2 {

struct IVec {
  using V = Vec;
  using F = __m256;
  using I = __m256i;
  static constexpr int kBytes = 32;
  static constexpr int kLanes = 8;
  static constexpr int kRegsPerPanel = 2;   // a 64-byte panel step is two registers
  static constexpr int kPanelsPerPass = 1;  // a tile pass covers 1 panel (16 columns)
  static constexpr int kGemvPanelsPerPass = 2;  // 1-2 rows: 2 panels per pass
  static constexpr int kMr = 4;             // rows per tile: 4 x 2 int32 + 4 x 2 f32 accumulators
  static constexpr bool kW8BiasedX = false;  // W8 uses the sign trick: exact, no bias

  static I zero() { return _mm256_setzero_si256(); }
  static I set1(int32_t v) { return _mm256_set1_epi32(v); }
  static I load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  // kLanes fp16 -> f32 (exact; F16C), kLanes int16 -> int32.
  static F load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static I load_i16(const int16_t* p) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static I add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I sub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I shl(I a, int bits) { return _mm256_slli_epi32(a, bits); }
  static I mullo(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static F to_float(I v) { return _mm256_cvtepi32_ps(v); }
  static I bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static I lo_nibbles(I v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0F)); }
  static I hi_nibbles(I v) {
    return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
  }
  // acc + Σ_{4 bytes} u0·x0 + Σ_{4 bytes} u1·x1 per 32-bit lane (u: u8 in 0..15, x: s8).
  // vpmaddubsw saturates its int16 pair sums: here |u·x + u·x| <= 2·15·128 =
  // 3840, and the vpaddw of the two products <= 7680 < 32767: never saturates.
  // vpmaddwd by ones then widens pairs to int32 exactly.
  static I dot2_u4(I acc, I u0, I x0, I u1, I x1) {
    const I p16 = _mm256_add_epi16(_mm256_maddubs_epi16(u0, x0), _mm256_maddubs_epi16(u1, x1));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
  }
  // IQ4_NL: the level of each nibble u (a byte 0..15) as a signed byte
  // (|level| <= 127), multiplied with the sign trick of dot_w8 (|x| as the
  // unsigned operand: pair sums <= 2·128·127 < 32767, exact), each half
  // widened to int32 before the two are added. No bias.
  static constexpr int kNlBias = 0;
  static I nl_levels(I u) {
    const __m128i t = _mm_setr_epi8(
        io::kIq4NlValues[0], io::kIq4NlValues[1], io::kIq4NlValues[2], io::kIq4NlValues[3],
        io::kIq4NlValues[4], io::kIq4NlValues[5], io::kIq4NlValues[6], io::kIq4NlValues[7],
        io::kIq4NlValues[8], io::kIq4NlValues[9], io::kIq4NlValues[10], io::kIq4NlValues[11],
        io::kIq4NlValues[12], io::kIq4NlValues[13], io::kIq4NlValues[14], io::kIq4NlValues[15]);
    return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(t), u);
  }
  static I dot2_nl(I acc, I l0, I x0, I l1, I x1) {
    const I ones = _mm256_set1_epi16(1);
    const I p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(x0), _mm256_sign_epi8(l0, x0)), ones);
    const I p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(x1), _mm256_sign_epi8(l1, x1)), ones);
    return _mm256_add_epi32(acc, _mm256_add_epi32(p0, p1));
  }
  // W8 sign trick: |x| (u8, <= 128) times sign(x)·w (s8, |w| <= 127 enforced
  // at packing): pair sums <= 2·128·127 = 32512 < 32767, exact. No bias.
  static I prep_x_w8(I x) { return x; }
  static I dot_w8(I acc, I w, I x) {
    const I p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
  }

  struct Acc64 {
    I lo, hi;  // lanes 0..3, 4..7
  };
  static Acc64 zero64() { return {zero(), zero()}; }
  static void add64(Acc64& acc, I v) {
    acc.lo = _mm256_add_epi64(acc.lo, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
    acc.hi = _mm256_add_epi64(acc.hi, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  }
  // float(int64) per lane (no AVX2 instruction: scalar cvtsi2ss, nearest even).
  static F to_float64(const Acc64& acc) {
    alignas(32) int64_t v[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(v), acc.lo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(v + 4), acc.hi);
    return _mm256_setr_ps(float(v[0]), float(v[1]), float(v[2]), float(v[3]), float(v[4]),
                          float(v[5]), float(v[6]), float(v[7]));
  }

  static F finite_abs(F v) {
    const F a = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    return _mm256_and_ps(a, _mm256_cmp_ps(a, _mm256_set1_ps(__builtin_inff()), _CMP_LT_OQ));
  }
  static F zero_nan(F v) { return _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }
  static void store_i8(int8_t* p, F v, int64_t n) {
    const __m256i i = _mm256_cvtps_epi32(v);  // nearest even (default MXCSR)
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    const __m128i b = _mm_packs_epi16(w, w);
    if (n >= kLanes) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), b);
      return;
    }
    alignas(16) int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
    for (int64_t i2 = 0; i2 < n; ++i2) p[i2] = tmp[i2];
  }
  static int32_t sum32_i8(const int8_t* p) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v),
                                        _mm256_set1_epi16(1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    q = _mm_add_epi32(q, _mm_unpackhi_epi64(q, q));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 1));
    return _mm_cvtsi128_si32(q);
  }
};

}  // namespace fptq::kernels::avx2
