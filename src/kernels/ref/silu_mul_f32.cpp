#include <cmath>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

// gate, up, out: [n]; out[i] = gate[i] / (1 + exp(-gate[i])) * up[i].
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace fptq::kernels::ref
