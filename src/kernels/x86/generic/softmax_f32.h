// softmax_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cstdint>

#include "kernels/x86/generic/exp_f32.h"
#include "kernels/x86/generic/lanes16.h"

namespace fptq::kernels::generic {

// x: [n], in place. Pass 1: max (exact, any order). Pass 2: x[i] =
// exp(x[i] - max), summed in one 16-lane accumulator (lane i mod 16, zero
// padded, then the 16-lane tree). Pass 3: x[i] *= 1/sum.
template <class V0>
void softmax_f32(float* x, int64_t n) {
  using V = Lanes16<V0>;
  if (n == 0) return;
  constexpr int64_t L = V::kLanes;
  using R = typename V::Reg;
  int64_t i = 0;
  float max = x[0];
  if (n >= L) {
    R vmax = V::loadu(x);
    for (i = L; i + L <= n; i += L) vmax = V::max(vmax, V::loadu(x + i));
    max = V::reduce_max(vmax);
  }
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;

  const R vmax = V::set1(max);
  R sum = V::zero();
  for (i = 0; i + L <= n; i += L) {
    const R e = exp_f32<V>(V::sub(V::loadu(x + i), vmax));
    V::storeu(x + i, e);
    sum = V::add(sum, e);
  }
  if (i < n) {
    const R e = V::keep_n(exp_f32<V>(V::sub(V::load_n(x + i, n - i), vmax)), n - i);
    V::store_n(x + i, e, n - i);
    sum = V::add(sum, e);
  }

  const R inv = V::set1(1.0f / V::reduce_add(sum));
  for (i = 0; i + L <= n; i += L) V::storeu(x + i, V::mul(V::loadu(x + i), inv));
  if (i < n) V::store_n(x + i, V::mul(V::load_n(x + i, n - i), inv), n - i);
}

}  // namespace fptq::kernels::generic
