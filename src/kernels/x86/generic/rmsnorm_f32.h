// rmsnorm_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/x86/generic/dot_f32.h"

namespace fptq::kernels::generic {

// x, weight, out: [n] (out may equal x). Sum of squares as dot_f32(x, x),
// then out[i] = (x[i] * scale) * weight[i].
// The factor 1 / sqrt(mean(x^2) + eps) of a row x: [n], n > 0 (shared with
// the fused RMSNorm -> int8 kernel, which must match rmsnorm_f32 bit for bit).
// When the binary32 sum of squares overflows (finite activations beyond
// ~1e18), the contract's fallback: the sum in binary64, in index order, and
// the scale 1 / sqrt(sum / n + eps) in binary64 rounded once to binary32.
template <class V>
float rms_scale(const float* x, float eps, int64_t n) {
  const float ss = dot_f32<V>(x, x, n);
  if (ss == __builtin_inff()) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
    return float(1.0 / __builtin_sqrt(s / double(n) + double(eps)));
  }
  return 1.0f / std::sqrt(ss / float(n) + eps);
}

template <class V>
void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  if (n == 0) return;
  constexpr int64_t L = V::kLanes;
  const float scale = rms_scale<V>(x, eps, n);
  const typename V::Reg vs = V::set1(scale);
  int64_t i = 0;
  for (; i + L <= n; i += L)
    V::storeu(out + i, V::mul(V::mul(V::loadu(x + i), vs), V::loadu(weight + i)));
  if (i < n)
    V::store_n(out + i, V::mul(V::mul(V::load_n(x + i, n - i), vs), V::load_n(weight + i, n - i)),
               n - i);
}

}  // namespace fptq::kernels::generic
