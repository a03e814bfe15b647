#include "kernels/kernel_table.h"
#include "kernels/ref/exp_f32.h"

namespace fptq::kernels::ref {

// gate, up, out: [n]; out[i] = (gate[i] / (1 + exp(0 - gate[i]))) * up[i],
// exp the contract's (ref/exp_f32.h).
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + exp_f32(0.0f - gate[i])) * up[i];
}

}  // namespace fptq::kernels::ref
