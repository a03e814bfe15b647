#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// x, weight, out: [n]; out[i] = (x[i] * scale) * weight[i] with
// scale = 1 / sqrt(dot_f32(x, x) / n + eps): the sum of squares is the
// contract's dot product (16 lanes, fused multiply-adds, the fixed tree).
void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  if (n == 0) return;
  const float scale = 1.0f / std::sqrt(dot_f32(x, x, n) / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

}  // namespace fptq::kernels::ref
