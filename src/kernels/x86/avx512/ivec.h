// Integer (int8 / int32 / int64) helpers for AVX-512 VNNI translation units,
// used by the generic integer kernels (x86/generic/quantize_i8.h,
// x86/generic/int_gemm_tile.h). x86/avx2/ivec.h provides the same interface.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "io/ggml_blocks.h"
#include "kernels/x86/avx512/vec.h"

namespace fptq::kernels::avx512 {

// Byte i of the IQ4_NL lookup: io::kIq4NlValues[i] + 128 as an unsigned byte.
#define NL(i) char(uint8_t(io::kIq4NlValues[i] + 128))

struct IVec {
  using V = Vec;  // the f32 helpers of the same width
  using F = __m512;
  using I = __m512i;
  static constexpr int kBytes = 64;                 // bytes per register
  static constexpr int kLanes = 16;                 // int32 / f32 lanes
  static constexpr int kRegsPerPanel = 1;           // a 16-column panel step is one register
  static constexpr int kPanelsPerPass = 2;          // a tile pass covers 2 panels (32 columns)
  static constexpr int kGemvPanelsPerPass = 4;      // 1-2 rows: 4 panels (4 weight streams) per pass
  static constexpr int kMr = 6;                     // rows per tile: 6 x 2 int32 + 6 x 2 f32 accumulators
  static constexpr bool kW8BiasedX = true;          // W8: x + 128 as the u8 operand (see dot_w8)

  static I zero() { return _mm512_setzero_si512(); }
  static I set1(int32_t v) { return _mm512_set1_epi32(v); }
  static I load(const void* p) { return _mm512_loadu_si512(p); }
  // kLanes fp16 -> f32 (exact), kLanes int16 -> int32.
  static F load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static I load_i16(const int16_t* p) {
    return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static I add(I a, I b) { return _mm512_add_epi32(a, b); }
  static I sub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I shl(I a, int bits) { return _mm512_slli_epi32(a, unsigned(bits)); }
  static I mullo(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static F to_float(I v) { return _mm512_cvtepi32_ps(v); }  // rounds to nearest even
  // The 4 bytes at p in every 32-bit lane.
  static I bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static I lo_nibbles(I v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0F)); }
  static I hi_nibbles(I v) {
    return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0F));
  }
  // acc + Σ_{4 bytes} u0·x0 + Σ_{4 bytes} u1·x1 per 32-bit lane (u: u8, x: s8).
  // vpdpbusd does not saturate (the non-"s" form): exact int32.
  static I dot2_u4(I acc, I u0, I x0, I u1, I x1) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc, u0, x0), u1, x1);
  }
  // IQ4_NL: the level of each nibble u (a byte 0..15) as the unsigned operand
  // level + 128 (1..241); dot2_u4 of these is exact (vpdpbusd, int32) and
  // the tile subtracts kNlBias · Σx per group.
  static constexpr int kNlBias = 128;
  static I nl_levels(I u) {
    const __m128i t = _mm_setr_epi8(NL(0), NL(1), NL(2), NL(3), NL(4), NL(5), NL(6), NL(7), NL(8),
                                    NL(9), NL(10), NL(11), NL(12), NL(13), NL(14), NL(15));
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(t), u);
  }
  static I dot2_nl(I acc, I l0, I x0, I l1, I x1) { return dot2_u4(acc, l0, x0, l1, x1); }
  // W8: x must be prepared once per broadcast; dot_w8(acc, w, prep_x_w8(x))
  // = acc + Σ_{4 bytes} (x + 128)·w, so the tile subtracts 128·Σw (wsum).
  static I prep_x_w8(I x) { return _mm512_xor_si512(x, _mm512_set1_epi8(char(0x80))); }
  static I dot_w8(I acc, I w, I xp) { return _mm512_dpbusd_epi32(acc, xp, w); }

  // int64 accumulators of the integer-scale mode: lanes 0..7 in lo, 8..15 in hi.
  struct Acc64 {
    I lo, hi;
  };
  static Acc64 zero64() { return {zero(), zero()}; }
  static void add64(Acc64& acc, I v) {
    acc.lo = _mm512_add_epi64(acc.lo, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
    acc.hi = _mm512_add_epi64(acc.hi, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
  }
  // float(int64) per lane, rounded to nearest even.
  static F to_float64(const Acc64& acc) {
    const __m256 lo = _mm512_cvtepi64_ps(acc.lo), hi = _mm512_cvtepi64_ps(acc.hi);
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  }

  // |v| for finite lanes, 0 for ±Inf and NaN.
  static F finite_abs(F v) {
    const F a = _mm512_abs_ps(v);
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(__builtin_inff()), _CMP_LT_OQ),
                               a);
  }
  static F zero_nan(F v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); }
  // v: integral-or-not floats already clamped to [-127, 127]; rounds each to
  // the nearest integer (ties to even: the default MXCSR mode, as nearbyint)
  // and stores the lanes [0, n) as int8 (n >= kLanes: all 16).
  static void store_i8(int8_t* p, F v, int64_t n) {
    const __m128i b = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v));
    if (n >= kLanes)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), b);
    else
      _mm_mask_storeu_epi8(p, Vec::first_n(n), b);
  }
  // Σ of the 32 int8 at p.
  static int32_t sum32_i8(const int8_t* p) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), v);
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    q = _mm_add_epi32(q, _mm_unpackhi_epi64(q, q));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 1));
    return _mm_cvtsi128_si32(q);
  }
};

#undef NL

}  // namespace fptq::kernels::avx512
