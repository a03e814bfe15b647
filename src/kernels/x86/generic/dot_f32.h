// dot_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cstdint>

namespace fptq::kernels::generic {

// a, b: [n]. Four vector accumulators over blocks of 4 vectors, then single
// vectors, then a zero-padded tail; reduced (a0+a1)+(a2+a3) then lanes.
template <class V>
float dot_f32(const float* a, const float* b, int64_t n) {
  constexpr int64_t L = V::kLanes;
  typename V::Reg s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    s0 = V::fmadd(V::loadu(a + i), V::loadu(b + i), s0);
    s1 = V::fmadd(V::loadu(a + i + L), V::loadu(b + i + L), s1);
    s2 = V::fmadd(V::loadu(a + i + 2 * L), V::loadu(b + i + 2 * L), s2);
    s3 = V::fmadd(V::loadu(a + i + 3 * L), V::loadu(b + i + 3 * L), s3);
  }
  for (; i + L <= n; i += L) s0 = V::fmadd(V::loadu(a + i), V::loadu(b + i), s0);
  if (i < n) s0 = V::fmadd(V::load_n(a + i, n - i), V::load_n(b + i, n - i), s0);
  return V::reduce_add(V::add(V::add(s0, s1), V::add(s2, s3)));
}

}  // namespace fptq::kernels::generic
