// Int8 activation quantizers for any IVec (x86/avx2/ivec.h, x86/avx512/ivec.h):
// plain, fused RMSNorm -> int8 and fused SiLU·up -> int8. Contracts in
// kernels/kernel_decls.inc; each is bit-identical to the f32 kernel of the
// same ISA followed by quantize_row_i8 (the lane values are computed by the
// very same element-wise expressions), and quantize_row_i8 is bit-identical
// to ref (true division, nearest-even conversion, the same clamp/NaN rule).
#pragma once

#include <cstdint>

#include "kernels/x86/generic/rmsnorm_f32.h"
#include "kernels/x86/generic/silu_mul_f32.h"

namespace fptq::kernels::generic {

// Quantizes the row whose lanes `load(i, len)` produces (len = lanes
// available from i, at most V::kLanes; lanes past len are never stored).
// delta == 0: dynamic (max |finite| / 127, floored at 1e-8); delta < 0:
// static −delta with outlier-token isolation (max(−delta, max |finite| / 127)).
// Returns Δ.
template <class IV, class Load>
float quantize_mapped_i8(Load load, float delta, int8_t* q, int64_t n) {
  using V = typename IV::V;
  using F = typename IV::F;
  constexpr int64_t L = IV::kLanes;
  if (delta <= 0.0f) {
    F amax = V::zero();
    for (int64_t i = 0; i < n; i += L) {
      const int64_t len = n - i < L ? n - i : L;
      amax = V::max(amax, V::keep_n(IV::finite_abs(load(i, len)), len));
    }
    const float d = V::reduce_max(amax) / 127.0f;
    delta = delta == 0.0f ? (d > 1e-8f ? d : 1e-8f) : (d > -delta ? d : -delta);
  }
  const F vd = V::set1(delta), lo = V::set1(-127.0f), hi = V::set1(127.0f);
  for (int64_t i = 0; i < n; i += L) {
    const int64_t len = n - i < L ? n - i : L;
    const F v = IV::zero_nan(V::div(load(i, len), vd));
    IV::store_i8(q + i, V::min(V::max(v, lo), hi), len);
  }
  return delta;
}

template <class IV>
float quantize_row_i8(const float* x, float delta, int8_t* q, int64_t n) {
  using V = typename IV::V;
  return quantize_mapped_i8<IV>(
      [&](int64_t i, int64_t len) { return len == IV::kLanes ? V::loadu(x + i) : V::load_n(x + i, len); },
      delta, q, n);
}

template <class IV>
float rmsnorm_quantize_row_i8(const float* x, const float* weight, float eps, float delta,
                              int8_t* q, int64_t n) {
  using V = typename IV::V;
  if (n == 0) return delta == 0.0f ? 1e-8f : (delta < 0.0f ? -delta : delta);
  const typename V::Reg vs = V::set1(rms_scale<V>(x, eps, n));
  return quantize_mapped_i8<IV>(
      [&](int64_t i, int64_t len) {
        return len == IV::kLanes ? V::mul(V::mul(V::loadu(x + i), vs), V::loadu(weight + i))
                                 : V::mul(V::mul(V::load_n(x + i, len), vs), V::load_n(weight + i, len));
      },
      delta, q, n);
}

template <class IV>
float silu_mul_quantize_row_i8(const float* gate, const float* up, float delta, int8_t* q,
                               int64_t n) {
  using V = typename IV::V;
  // Dynamic mode evaluates SiLU twice (once for the max, once to quantize):
  // no f32 row is written, and both evaluations are the same exact function.
  return quantize_mapped_i8<IV>(
      [&](int64_t i, int64_t len) {
        return len == IV::kLanes ? silu_mul<V>(V::loadu(gate + i), V::loadu(up + i))
                                 : silu_mul<V>(V::load_n(gate + i, len), V::load_n(up + i, len));
      },
      delta, q, n);
}

// sums[G] = Σ of q[G·group .. G·group + group). Groups that are a multiple of
// 32 take the vector path; others are summed in scalar code.
template <class IV>
void group_sums_i8(const int8_t* q, int64_t k, int64_t group, int32_t* sums) {
  for (int64_t g0 = 0; g0 < k; g0 += group) {
    int32_t s = 0;
    int64_t t = 0;
    if (group % 32 == 0)
      for (; t < group; t += 32) s += IV::sum32_i8(q + g0 + t);
    for (; t < group; ++t) s += q[g0 + t];
    sums[g0 / group] = s;
  }
}

}  // namespace fptq::kernels::generic
