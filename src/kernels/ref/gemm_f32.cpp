// Scalar twins of the GEMM register tile and the panel GEMV (see kernel_decls.inc).
#include <algorithm>
#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

void gemm_f32_micro(int64_t kc, const float* a, int64_t a_stride, const float* b, float* y,
                    int64_t ldy, int rows, int cols, bool accumulate) {
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      float acc = accumulate ? y[r * ldy + j] : 0.0f;
      for (int64_t t = 0; t < kc; ++t) acc = std::fma(a[t * a_stride + r], b[t * kPanelWidth + j], acc);
      y[r * ldy + j] = acc;
    }
  }
}

void gemv_f32(int64_t k, const float* x, const float* b, int64_t n_panels, float* y, int64_t cols) {
  for (int64_t p = 0; p < n_panels; ++p) {
    const float* panel = b + p * k * kPanelWidth;
    const int64_t width = std::min<int64_t>(kPanelWidth, cols - p * kPanelWidth);
    for (int64_t j = 0; j < width; ++j) {
      float acc = 0.0f;
      for (int64_t t = 0; t < k; ++t) acc = std::fma(x[t], panel[t * kPanelWidth + j], acc);
      y[p * kPanelWidth + j] = acc;
    }
  }
}

}  // namespace fptq::kernels::ref
