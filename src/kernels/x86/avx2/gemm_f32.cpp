// AVX2 GEMM register tile (6 x 16, two per 32-wide panel) and panel GEMV;
// contracts in kernels/kernel_decls.inc.
#include "kernels/x86/avx2/gemm_f32.h"

#include <immintrin.h>

#include "kernels/kernel_table.h"
#include "kernels/x86/avx2/vec.h"

namespace fptq::kernels::avx2 {
namespace {

// a: [kc][a_stride] (rows R used), b: 16 columns of [kc][32], y: [R][ldy],
// columns < cols (1..16).
template <int R>
void half_tile(int64_t kc, const float* a, int64_t a_stride, const float* b, float* y, int64_t ldy,
               int cols, bool accumulate) {
  const bool full = cols >= 16;
  const __m256i m0 = Vec::first_n(cols), m1 = Vec::first_n(cols - 8);
  __m256 c0[R], c1[R];
  if (accumulate) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      c0[r] = full ? _mm256_loadu_ps(y + r * ldy) : _mm256_maskload_ps(y + r * ldy, m0);
      c1[r] = full ? _mm256_loadu_ps(y + r * ldy + 8) : _mm256_maskload_ps(y + r * ldy + 8, m1);
    }
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  }
  for (int64_t t = 0; t < kc; ++t) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
    a += a_stride;
    b += kPanelWidth;
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (full) {
      _mm256_storeu_ps(y + r * ldy, c0[r]);
      _mm256_storeu_ps(y + r * ldy + 8, c1[r]);
    } else {
      _mm256_maskstore_ps(y + r * ldy, m0, c0[r]);
      _mm256_maskstore_ps(y + r * ldy + 8, m1, c1[r]);
    }
  }
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, int, bool);
constexpr TileFn kTiles[kGemmMr] = {half_tile<1>, half_tile<2>, half_tile<3>,
                                    half_tile<4>, half_tile<5>, half_tile<6>};

// P panels at once (4P accumulators): x: [k], b: P panels [k][32] back to
// back, y: [cols] with cols <= 32P.
template <int P>
void gemv_panels(int64_t k, const float* x, const float* b, float* y, int64_t cols) {
  __m256 c[4 * P];
#pragma GCC unroll 8
  for (int q = 0; q < 4 * P; ++q) c[q] = _mm256_setzero_ps();
  const int64_t panel = k * kPanelWidth;
  for (int64_t t = 0; t < k; ++t) {
    const __m256 xv = _mm256_broadcast_ss(x + t);
#pragma GCC unroll 8
    for (int q = 0; q < 4 * P; ++q)
      c[q] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + (q / 4) * panel + (q % 4) * 8), c[q]);
    b += kPanelWidth;
  }
#pragma GCC unroll 8
  for (int q = 0; q < 4 * P; ++q) {
    if (cols >= 8 * (q + 1))
      _mm256_storeu_ps(y + 8 * q, c[q]);
    else if (cols > 8 * q)
      _mm256_maskstore_ps(y + 8 * q, Vec::first_n(cols - 8 * q), c[q]);
  }
}

}  // namespace

void gemm_f32_micro(int64_t kc, const float* a, int64_t a_stride, const float* b, float* y,
                    int64_t ldy, int rows, int cols, bool accumulate) {
  if (rows < 1 || rows > kGemmMr) __builtin_trap();  // invariant: the driver tiles by kGemmMr
  kTiles[rows - 1](kc, a, a_stride, b, y, ldy, cols < 16 ? cols : 16, accumulate);
  if (cols > 16) kTiles[rows - 1](kc, a, a_stride, b + 16, y + 16, ldy, cols - 16, accumulate);
}

void gemv_f32(int64_t k, const float* x, const float* b, int64_t n_panels, float* y, int64_t cols) {
  const int64_t panel = k * kPanelWidth;
  int64_t p = 0;
  for (; p + 2 <= n_panels; p += 2)
    gemv_panels<2>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
  if (p < n_panels)
    gemv_panels<1>(k, x, b + p * panel, y + p * kPanelWidth, cols - p * kPanelWidth);
}

}  // namespace fptq::kernels::avx2
