#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// x, weight, out: [n]; out[i] = x[i] * (1 / sqrt(mean(x^2) + eps)) * weight[i].
void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  if (n == 0) return;
  float sum_sq = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum_sq += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum_sq / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

}  // namespace fptq::kernels::ref
