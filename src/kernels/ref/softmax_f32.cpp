#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// x: [n], in place; x[i] = exp(x[i] - max) / sum_j exp(x[j] - max).
void softmax_f32(float* x, int64_t n) {
  if (n == 0) return;
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::fmax(max, x[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace fptq::kernels::ref
