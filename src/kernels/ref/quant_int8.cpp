// Scalar twins of the int8 activation quantizers (see kernel_decls.inc): the
// executable definition every SIMD quantizer must match bit for bit.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {
namespace {

constexpr float kQMax = 127.0f;
constexpr float kScaleFloor = 1e-8f;

// clamp(nearbyint(x / delta), -127, 127); NaN -> 0.
int8_t quant1(float x, float delta) {
  const float r = std::nearbyint(x / delta);
  if (r != r) return 0;
  return int8_t(std::min(std::max(r, -kQMax), kQMax));
}

}  // namespace

float quantize_row_i8(const float* x, float delta, int8_t* q, int64_t n) {
  if (delta <= 0.0f) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i)
      if (std::isfinite(x[i])) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / kQMax;
    // delta == 0: dynamic; delta < 0: static −delta unless the row needs more.
    delta = delta == 0.0f ? std::max(d, kScaleFloor) : (d > -delta ? d : -delta);
  }
  for (int64_t i = 0; i < n; ++i) q[i] = quant1(x[i], delta);
  return delta;
}

float rmsnorm_quantize_row_i8(const float* x, const float* weight, float eps, float delta,
                              int8_t* q, int64_t n) {
  std::vector<float> tmp(size_t(std::max<int64_t>(n, 0)));
  rmsnorm_f32(x, weight, eps, tmp.data(), n);
  return quantize_row_i8(tmp.data(), delta, q, n);
}

float silu_mul_quantize_row_i8(const float* gate, const float* up, float delta, int8_t* q,
                               int64_t n) {
  std::vector<float> tmp(size_t(std::max<int64_t>(n, 0)));
  silu_mul_f32(gate, up, tmp.data(), n);
  return quantize_row_i8(tmp.data(), delta, q, n);
}

void group_sums_i8(const int8_t* q, int64_t k, int64_t group, int32_t* sums) {
  for (int64_t g0 = 0; g0 < k; g0 += group) {
    int32_t s = 0;
    for (int64_t t = 0; t < group; ++t) s += q[g0 + t];
    sums[g0 / group] = s;
  }
}

}  // namespace fptq::kernels::ref
