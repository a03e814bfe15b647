// The integer GEMM register tile (W4A8 and W8A8) for any IVec
// (x86/avx2/ivec.h, x86/avx512/ivec.h). Contract and weight layout:
// kernels/int8_layout.h. Include only from translation units compiled for
// that IVec's ISA.
//
// Per group the tile keeps rows x column-registers int32 accumulators; at the
// end of a group it forms the exact P_G (W4: subtract 8·Σx, undoing the
// unsigned weight u = q + 8; W4 on the IQ4_NL levels: subtract
// IV::kNlBias·Σx, or nothing where the ISA multiplies the signed level; W8
// with biased x: subtract 128·Σw) and folds it
// into the float accumulators (fma with the group scale) or, in integer-scale
// mode, into int64 accumulators. So the integer work per group is exact and
// the float work is the fixed sequence ref performs.
#pragma once

#include <cstdint>

#include "kernels/int8_layout.h"

namespace fptq::kernels::generic {

// kCompact: fp16 scales (t.s16) and, for W8, int16 group sums (t.wsum16).
template <class IV, int R, bool kW4, bool kIntScale, bool kCompact, bool kNl>
void int_tile_rows(const IntTileArgs& t) {
  using V = typename IV::V;
  using F = typename IV::F;
  using I = typename IV::I;
  using Acc64 = typename IV::Acc64;
  // Few rows (decode): more panels per pass, so more weight streams are in
  // flight against the memory latency; the accumulators per row allow it.
  constexpr int PP = R <= 2 ? IV::kGemvPanelsPerPass : IV::kPanelsPerPass;
  static_assert(kIntTilePanels % PP == 0);
  constexpr int C = PP * IV::kRegsPerPanel;  // column registers per pass
  constexpr int L = IV::kLanes;
  constexpr int64_t kStepK = kW4 ? 8 : 4;  // k values per 64-byte step
  // Few rows: two accumulator sets on alternate steps, so the vpdpbusd
  // latency chain does not bound the (memory-bound) GEMV.
  constexpr bool kSplit = R <= 2;

  const int64_t n_groups = t.k / t.group;
  const int64_t steps_per_group = t.group / kStepK;
  const int64_t panel_bytes = (t.k / kStepK) * 64;
  const int64_t panel_scales = n_groups * kIntPanelCols;
  const int8_t* xr[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) xr[r] = t.x + r * t.ldx;

  for (int pass = 0; pass < kIntTilePanels / PP; ++pass) {
    const int col0 = pass * PP * kIntPanelCols;
    if (col0 >= t.cols) break;
    const int panel0 = pass * PP;
    // Column register c: panel panel0 + c / kRegsPerPanel, bytes
    // (c % kRegsPerPanel)·kBytes of each step, scale lanes likewise.
    const uint8_t* wc[C];
    int64_t sc[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const int p = panel0 + c / IV::kRegsPerPanel, part = c % IV::kRegsPerPanel;
      wc[c] = t.w + p * panel_bytes + part * IV::kBytes;
      sc[c] = p * panel_scales + part * L;
    }
    F f[R][C];
    Acc64 f64[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        if constexpr (kIntScale)
          f64[r][c] = IV::zero64();
        else
          f[r][c] = V::zero();
      }

    for (int64_t G = 0; G < n_groups; ++G) {
      I acc[R][C], acc2[R][C];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = acc2[r][c] = IV::zero();

      const int64_t s0 = G * steps_per_group;
      // One 64-byte step (k values k0 .. k0 + kStepK) into accumulator set a.
      auto step = [&](int64_t s, I(&a)[R][C]) {
        const int64_t k0 = s * kStepK;
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const I wv = IV::load(wc[c] + s * 64);
          if constexpr (kW4 && kNl) {
            const I lo = IV::nl_levels(IV::lo_nibbles(wv)), hi = IV::nl_levels(IV::hi_nibbles(wv));
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r)
              a[r][c] = IV::dot2_nl(a[r][c], lo, IV::bcast4(xr[r] + k0), hi, IV::bcast4(xr[r] + k0 + 4));
          } else if constexpr (kW4) {
            const I lo = IV::lo_nibbles(wv), hi = IV::hi_nibbles(wv);
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r)
              a[r][c] = IV::dot2_u4(a[r][c], lo, IV::bcast4(xr[r] + k0), hi, IV::bcast4(xr[r] + k0 + 4));
          } else {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r)
              a[r][c] = IV::dot_w8(a[r][c], wv, IV::prep_x_w8(IV::bcast4(xr[r] + k0)));
          }
        }
      };
      int64_t s = s0;
      if constexpr (kSplit) {
        for (; s + 2 <= s0 + steps_per_group; s += 2) {
          step(s, acc);
          step(s + 1, acc2);
        }
      }
      for (; s < s0 + steps_per_group; ++s) step(s, acc);

      const bool has_xg = !kIntScale && t.xg != nullptr;
      const int64_t xgi = has_xg ? G / t.xg_div : 0;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        // Per-group activation scale (float mode): multiplied into the weight
        // scale, the rounded product ref forms.
        const F xs = V::set1(has_xg ? t.xg[r * t.ldxg + xgi] : 1.0f);
        // The bias of the unsigned weight operand: u = q + 8 (uniform) or
        // level + IV::kNlBias (IQ4_NL; 0 where the ISA multiplies signed).
        constexpr int kBias = kNl ? IV::kNlBias : 8;
        I corr = IV::zero();
        if constexpr (kW4 && kBias != 0) corr = IV::set1(kBias * t.xsum[r * t.ldxs + G]);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          I p = kSplit ? IV::add(acc[r][c], acc2[r][c]) : acc[r][c];
          if constexpr (kW4) {
            if constexpr (kBias != 0) p = IV::sub(p, corr);
          } else if constexpr (IV::kW8BiasedX && kCompact)
            p = IV::sub(p, IV::shl(IV::load_i16(t.wsum16 + sc[c] + G * kIntPanelCols), 7));
          else if constexpr (IV::kW8BiasedX)
            p = IV::sub(p, IV::shl(IV::load(t.wsum + sc[c] + G * kIntPanelCols), 7));
          if constexpr (kIntScale)
            IV::add64(f64[r][c], IV::mullo(p, IV::load(t.s_int + sc[c] + G * kIntPanelCols)));
          else {
            F sw;
            if constexpr (kCompact)
              sw = IV::load_f16(t.s16 + sc[c] + G * kIntPanelCols);
            else
              sw = V::loadu(t.s + sc[c] + G * kIntPanelCols);
            if (has_xg) sw = V::mul(sw, xs);
            f[r][c] = V::fmadd(IV::to_float(p), sw, f[r][c]);
          }
        }
      }
    }

#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const F ar = V::set1(t.a[r * t.a_stride]);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        F v;
        if constexpr (kIntScale) {
          const int p = panel0 + c / IV::kRegsPerPanel, part = c % IV::kRegsPerPanel;
          v = V::mul(V::loadu(t.c + p * kIntPanelCols + part * L), IV::to_float64(f64[r][c]));
        } else {
          v = f[r][c];
        }
        const int64_t left = t.cols - (col0 + c * L);
        float* yp = t.y + r * t.ldy + col0 + c * L;
        if (left >= L)
          V::storeu(yp, V::mul(ar, v));
        else if (left > 0)
          V::store_n(yp, V::mul(ar, v), left);
      }
    }
  }
}

// Selects the row count (1 .. IV::kMr) at compile time.
template <class IV, bool kW4, bool kIntScale, bool kCompact, bool kNl = false, int R = 1>
void int_tile(const IntTileArgs& t) {
  if constexpr (R < IV::kMr) {
    if (t.rows == R) return int_tile_rows<IV, R, kW4, kIntScale, kCompact, kNl>(t);
    return int_tile<IV, kW4, kIntScale, kCompact, kNl, R + 1>(t);
  } else {
    int_tile_rows<IV, R, kW4, kIntScale, kCompact, kNl>(t);
  }
}

template <class IV>
void w4a8_tile(const IntTileArgs& t) {
  if (t.s_int != nullptr)
    int_tile<IV, true, true, false>(t);
  else if (t.s16 != nullptr)
    int_tile<IV, true, false, true>(t);
  else
    int_tile<IV, true, false, false>(t);
}

// IQ4_NL levels: float scale mode only (the packing refuses integer scales).
template <class IV>
void w4a8_nl_tile(const IntTileArgs& t) {
  if (t.s16 != nullptr)
    int_tile<IV, true, false, true, true>(t);
  else
    int_tile<IV, true, false, false, true>(t);
}

template <class IV>
void w8a8_tile(const IntTileArgs& t) {
  if (t.s16 != nullptr)
    int_tile<IV, false, false, true>(t);
  else
    int_tile<IV, false, false, false>(t);
}

}  // namespace fptq::kernels::generic
