#include <cmath>

#include "kernels/kernel_table.h"
#include "kernels/ref/exp_f32.h"
#include "kernels/ref/lanes16.h"

namespace fptq::kernels::ref {

// x: [n], in place; x[i] = exp(x[i] - max) * (1 / sum_j exp(x[j] - max)),
// exp the contract's (ref/exp_f32.h), the sum over 16 lanes (lane i mod 16)
// reduced by the tree.
void softmax_f32(float* x, int64_t n) {
  if (n == 0) return;
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::fmax(max, x[i]);
  float s[kSumLanes] = {};
  for (int64_t i = 0; i < n; ++i) {
    x[i] = exp_f32(x[i] - max);
    s[i % kSumLanes] += x[i];
  }
  const float inv = 1.0f / reduce16(s);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace fptq::kernels::ref
