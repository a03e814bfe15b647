#include "kernels/ref/matmul_f32_ref.h"

#include <cmath>

namespace fptq::kernels::ref {

void matmul_f32_unpacked_ref(const float* x, const float* w, float* y, int64_t m, int64_t n,
                             int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t t = 0; t < k; ++t) acc += double(x[i * k + t]) * double(w[j * k + t]);
      y[i * n + j] = float(acc);
    }
  }
}

void matmul_f32_abs_sum_ref(const float* x, const float* w, float* abs_sum, int64_t m, int64_t n,
                            int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t t = 0; t < k; ++t) acc += std::fabs(double(x[i * k + t]) * double(w[j * k + t]));
      abs_sum[i * n + j] = float(acc);
    }
  }
}

}  // namespace fptq::kernels::ref
