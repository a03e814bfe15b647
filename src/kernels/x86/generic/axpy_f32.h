// axpy_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cstdint>

namespace fptq::kernels::generic {

// x, y: [n]; y[i] = fma(alpha, x[i], y[i]).
template <class V>
void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  constexpr int64_t L = V::kLanes;
  const typename V::Reg va = V::set1(alpha);
  int64_t i = 0;
  for (; i + L <= n; i += L) V::storeu(y + i, V::fmadd(va, V::loadu(x + i), V::loadu(y + i)));
  if (i < n)
    V::store_n(y + i, V::fmadd(va, V::load_n(x + i, n - i), V::load_n(y + i, n - i)), n - i);
}

}  // namespace fptq::kernels::generic
