// dot_f32 for any Vec; see kernels/kernel_decls.inc for the contract.
#pragma once

#include <cstdint>

#include "kernels/x86/generic/lanes16.h"

namespace fptq::kernels::generic {

// a, b: [n], in the contract's order (kernels/ref/dot_f32.cpp): four 16-lane
// accumulators over blocks of 64 elements, then the first accumulator over
// blocks of 16 and a zero-padded tail, all by fused multiply-add; reduced
// (a0+a1)+(a2+a3) per lane, then the 16-lane tree.
template <class V>
float dot_f32(const float* a, const float* b, int64_t n) {
  using W = Lanes16<V>;
  constexpr int64_t L = W::kLanes;
  typename W::Reg s0 = W::zero(), s1 = W::zero(), s2 = W::zero(), s3 = W::zero();
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    s0 = W::fmadd(W::loadu(a + i), W::loadu(b + i), s0);
    s1 = W::fmadd(W::loadu(a + i + L), W::loadu(b + i + L), s1);
    s2 = W::fmadd(W::loadu(a + i + 2 * L), W::loadu(b + i + 2 * L), s2);
    s3 = W::fmadd(W::loadu(a + i + 3 * L), W::loadu(b + i + 3 * L), s3);
  }
  for (; i + L <= n; i += L) s0 = W::fmadd(W::loadu(a + i), W::loadu(b + i), s0);
  if (i < n) s0 = W::fmadd(W::load_n(a + i, n - i), W::load_n(b + i, n - i), s0);
  return W::reduce_add(W::add(W::add(s0, s1), W::add(s2, s3)));
}

}  // namespace fptq::kernels::generic
