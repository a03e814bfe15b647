#include "kernels/quantize_i8.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels {
namespace {

void check(const char* what, int64_t m, int64_t k, ActQuant mode, const float* group_scales) {
  if (m < 0 || k < 0) fail("{}: negative shape m={} k={}", what, m, k);
  if (mode.static_delta != 0.0f && !(mode.static_delta > 0.0f && std::isfinite(mode.static_delta)))
    fail("{}: static scale {} is not positive and finite", what, mode.static_delta);
  if (mode.isolate && mode.static_delta == 0.0f)
    fail("{}: outlier-token isolation needs a static scale", what);
  if (mode.group != 0) {
    if (mode.static_delta != 0.0f) fail("{}: per-group activation scales are dynamic only", what);
    if (mode.group < 0 || k % mode.group != 0)
      fail("{}: activation group {} does not divide k={}", what, mode.group, k);
    if (group_scales == nullptr && m > 0) fail("{}: per-group scales need an output", what);
  }
}

// Grouped dynamic mode: each chunk of one f32 row quantized as its own
// dynamic row.
void quantize_groups(const KernelTable& kt, const float* x, int64_t k, int64_t g, int8_t* q,
                     float* scale, float* group_scales) {
  for (int64_t j = 0; j * g < k; ++j)
    group_scales[j] = kt.quantize_row_i8(x + j * g, 0.0f, q + j * g, g);
  *scale = 1.0f;
}

}  // namespace

void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales, float* group_scales) {
  quantize_rows_i8(x, m, k, mode, q, scales, active_isa(), group_scales);
}
void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales, Isa isa, float* group_scales) {
  check("quantize_rows_i8", m, k, mode, group_scales);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t t = 0; t < m; ++t) {
    if (mode.group > 0)
      quantize_groups(kt, x + t * k, k, mode.group, q + t * k, scales + t,
                      group_scales + t * (k / mode.group));
    else
      scales[t] = kt.quantize_row_i8(x + t * k, mode.kernel_delta(), q + t * k, k);
  }
}

void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales,
                              float* group_scales) {
  rmsnorm_quantize_rows_i8(x, weight, eps, m, k, mode, q, scales, active_isa(), group_scales);
}
void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales, Isa isa,
                              float* group_scales) {
  check("rmsnorm_quantize_rows_i8", m, k, mode, group_scales);
  const KernelTable& kt = kernels_for(isa);
  thread_local std::vector<float> row;  // grouped mode: the f32 row (the caller's scratch)
  for (int64_t t = 0; t < m; ++t) {
    if (mode.group > 0) {
      row.resize(size_t(k));
      kt.rmsnorm_f32(x + t * k, weight, eps, row.data(), k);
      quantize_groups(kt, row.data(), k, mode.group, q + t * k, scales + t,
                      group_scales + t * (k / mode.group));
    } else {
      scales[t] =
          kt.rmsnorm_quantize_row_i8(x + t * k, weight, eps, mode.kernel_delta(), q + t * k, k);
    }
  }
}

void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales, float* group_scales) {
  silu_mul_quantize_rows_i8(gate, up, m, k, mode, q, scales, active_isa(), group_scales);
}
void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales, Isa isa,
                               float* group_scales) {
  check("silu_mul_quantize_rows_i8", m, k, mode, group_scales);
  const KernelTable& kt = kernels_for(isa);
  thread_local std::vector<float> row;
  for (int64_t t = 0; t < m; ++t) {
    if (mode.group > 0) {
      row.resize(size_t(k));
      kt.silu_mul_f32(gate + t * k, up + t * k, row.data(), k);
      quantize_groups(kt, row.data(), k, mode.group, q + t * k, scales + t,
                      group_scales + t * (k / mode.group));
    } else {
      scales[t] = kt.silu_mul_quantize_row_i8(gate + t * k, up + t * k, mode.kernel_delta(),
                                              q + t * k, k);
    }
  }
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
