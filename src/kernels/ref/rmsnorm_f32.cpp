#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// x, weight, out: [n]; out[i] = (x[i] * scale) * weight[i] with
// scale = 1 / sqrt(dot_f32(x, x) / n + eps): the sum of squares is the
// contract's dot product (16 lanes, fused multiply-adds, the fixed tree);
// when that sum overflows to +inf, binary64 (below).
void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  if (n == 0) return;
  const float ss = dot_f32(x, x, n);
  float scale;
  if (ss == INFINITY) {
    // The squares of finite activations overflow binary32 (|x| beyond ~1e18):
    // the sum in binary64, in index order, the scale rounded once.
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
    scale = float(1.0 / std::sqrt(s / double(n) + double(eps)));
  } else {
    scale = 1.0f / std::sqrt(ss / float(n) + eps);
  }
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

}  // namespace fptq::kernels::ref
