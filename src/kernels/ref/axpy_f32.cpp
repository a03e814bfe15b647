#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// y[i] = fma(alpha, x[i], y[i]): one rounding per element.
void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
}

}  // namespace fptq::kernels::ref
