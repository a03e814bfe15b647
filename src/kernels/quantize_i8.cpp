#include "kernels/quantize_i8.h"

#include <cmath>

#include "core/error.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels {
namespace {

void check(const char* what, int64_t m, int64_t k, ActQuant mode) {
  if (m < 0 || k < 0) fail("{}: negative shape m={} k={}", what, m, k);
  if (mode.static_delta != 0.0f && !(mode.static_delta > 0.0f && std::isfinite(mode.static_delta)))
    fail("{}: static scale {} is not positive and finite", what, mode.static_delta);
  if (mode.isolate && mode.static_delta == 0.0f)
    fail("{}: outlier-token isolation needs a static scale", what);
}

}  // namespace

void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales) {
  quantize_rows_i8(x, m, k, mode, q, scales, active_isa());
}
void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales, Isa isa) {
  check("quantize_rows_i8", m, k, mode);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t t = 0; t < m; ++t)
    scales[t] = kt.quantize_row_i8(x + t * k, mode.kernel_delta(), q + t * k, k);
}

void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales) {
  rmsnorm_quantize_rows_i8(x, weight, eps, m, k, mode, q, scales, active_isa());
}
void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales, Isa isa) {
  check("rmsnorm_quantize_rows_i8", m, k, mode);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t t = 0; t < m; ++t)
    scales[t] =
        kt.rmsnorm_quantize_row_i8(x + t * k, weight, eps, mode.kernel_delta(), q + t * k, k);
}

void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales) {
  silu_mul_quantize_rows_i8(gate, up, m, k, mode, q, scales, active_isa());
}
void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales, Isa isa) {
  check("silu_mul_quantize_rows_i8", m, k, mode);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t t = 0; t < m; ++t)
    scales[t] =
        kt.silu_mul_quantize_row_i8(gate + t * k, up + t * k, mode.kernel_delta(), q + t * k, k);
}

void group_sums_rows_i8(const int8_t* q, int64_t m, int64_t k, int64_t group, int32_t* sums) {
  group_sums_rows_i8(q, m, k, group, sums, active_isa());
}
void group_sums_rows_i8(const int8_t* q, int64_t m, int64_t k, int64_t group, int32_t* sums,
                        Isa isa) {
  if (m < 0 || k < 0) fail("group_sums_rows_i8: negative shape m={} k={}", m, k);
  if (group < 1 || k % group != 0)
    fail("group_sums_rows_i8: k={} is not a multiple of group {}", k, group);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t t = 0; t < m; ++t) kt.group_sums_i8(q + t * k, k, group, sums + t * (k / group));
}

}  // namespace fptq::kernels
