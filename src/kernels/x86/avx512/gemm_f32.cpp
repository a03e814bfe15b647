// AVX-512 GEMM register tile (14 x 32) and panel GEMV; contracts in
// kernels/kernel_decls.inc.
#include "kernels/x86/avx512/gemm_f32.h"

#include <immintrin.h>

#include "kernels/kernel_table.h"
#include "kernels/x86/avx512/vec.h"

namespace fptq::kernels::avx512 {
namespace {

// a: [kc][a_stride] (rows R used), b: [kc][32], y: [R][ldy], columns < cols.
template <int R>
void tile(int64_t kc, const float* a, int64_t a_stride, const float* b, float* y, int64_t ldy,
          int cols, bool accumulate) {
  const __mmask16 m0 = Vec::first_n(cols), m1 = Vec::first_n(cols - 16);
  __m512 c0[R], c1[R];
  if (accumulate) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      c0[r] = _mm512_maskz_loadu_ps(m0, y + r * ldy);
      c1[r] = _mm512_maskz_loadu_ps(m1, y + r * ldy + 16);
    }
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  }
  for (int64_t t = 0; t < kc; ++t) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
    a += a_stride;
    b += kPanelWidth;
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(y + r * ldy, m0, c0[r]);
    _mm512_mask_storeu_ps(y + r * ldy + 16, m1, c1[r]);
  }
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, int, bool);
constexpr TileFn kTiles[kGemmMr] = {tile<1>,  tile<2>,  tile<3>,  tile<4>, tile<5>,
                                    tile<6>,  tile<7>,  tile<8>,  tile<9>, tile<10>,
                                    tile<11>, tile<12>, tile<13>, tile<14>};

// P panels at once (2P accumulators): x: [k], b: P panels [k][32] back to
// back, y: [cols] with cols <= 32P.
template <int P>
void gemv_panels(int64_t k, const float* x, const float* b, float* y, int64_t cols) {
  __m512 c[2 * P];
#pragma GCC unroll 8
  for (int q = 0; q < 2 * P; ++q) c[q] = _mm512_setzero_ps();
  const int64_t panel = k * kPanelWidth;
  for (int64_t t = 0; t < k; ++t) {
    const __m512 xv = _mm512_set1_ps(x[t]);
#pragma GCC unroll 8
    for (int q = 0; q < 2 * P; ++q)
      c[q] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(b + (q / 2) * panel + (q % 2) * 16), c[q]);
    b += kPanelWidth;
  }
#pragma GCC unroll 8
  for (int q = 0; q < 2 * P; ++q)
    _mm512_mask_storeu_ps(y + 16 * q, Vec::first_n(cols - 16 * q), c[q]);
}

}  // namespace

void gemm_f32_micro(int64_t kc, const float* a, int64_t a_stride, const float* b, float* y,
                    int64_t ldy, int rows, int cols, bool accumulate) {
  if (rows < 1 || rows > kGemmMr) __builtin_trap();  // invariant: the driver tiles by kGemmMr
  kTiles[rows - 1](kc, a, a_stride, b, y, ldy, cols, accumulate);
}

void gemv_f32(int64_t k, const float* x, const float* b, int64_t n_panels, float* y, int64_t cols) {
  const int64_t panel = k * kPanelWidth;
  int64_t p = 0;
  for (; p + 4 <= n_panels; p += 4)
    gemv_panels<4>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
  switch (n_panels - p) {
    case 3:
      gemv_panels<3>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
      break;
    case 2:
      gemv_panels<2>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
      break;
    case 1:
      gemv_panels<1>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
      break;
    default:
      break;
  }
}

}  // namespace fptq::kernels::avx512
