// silu_mul_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cstdint>

#include "kernels/x86/generic/exp_f32.h"

namespace fptq::kernels::generic {

// gate, up, out: [n]; out[i] = gate[i] / (1 + exp(-gate[i])) * up[i].
template <class V>
typename V::Reg silu_mul(typename V::Reg g, typename V::Reg u) {
  const typename V::Reg zero = V::zero();
  const typename V::Reg denom = V::add(V::set1(1.0f), exp_f32<V>(V::sub(zero, g)));
  return V::mul(V::div(g, denom), u);
}

template <class V>
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  constexpr int64_t L = V::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) V::storeu(out + i, silu_mul<V>(V::loadu(gate + i), V::loadu(up + i)));
  if (i < n)
    V::store_n(out + i, silu_mul<V>(V::load_n(gate + i, n - i), V::load_n(up + i, n - i)), n - i);
}

}  // namespace fptq::kernels::generic
