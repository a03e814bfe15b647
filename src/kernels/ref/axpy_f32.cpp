#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// x, y: [n]; y[i] += alpha * x[i].
void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace fptq::kernels::ref
