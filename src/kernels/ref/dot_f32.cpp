#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// a, b: [n]; one float accumulator, i = 0 .. n-1 in order.
float dot_f32(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace fptq::kernels::ref
