// Vector exp for any Vec (x86/avx2/vec.h, x86/avx512/vec.h). Include only
// from translation units compiled for that Vec's ISA.
#pragma once

namespace fptq::kernels::generic {

// exp(x) per lane, within ~2 ulp of the correctly rounded value for results
// that are normal floats; +inf above ~88.72, subnormal or 0 below ~-87.3.
// x = n*ln2 + r with n = round(x/ln2), |r| <= ln2/2 (ln2 split in a 9-bit
// head and a tail so n*ln2_hi is exact); e^r by its degree-7 Taylor
// polynomial (truncation < 1e-8 relative); 2^n applied as 2^h * 2^(n-h) so
// both factors stay normal over the clamped range.
template <class V>
typename V::Reg exp_f32(typename V::Reg x) {
  using R = typename V::Reg;
  x = V::min(V::max(x, V::set1(-104.0f)), V::set1(89.0f));
  const R n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  R r = V::fmadd(n, V::set1(-0.693359375f), x);
  r = V::fmadd(n, V::set1(2.12194440e-4f), r);
  R p = V::set1(1.0f / 5040.0f);
  p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  const R half = V::round(V::mul(n, V::set1(0.5f)));
  return V::mul(V::mul(p, V::pow2(half)), V::pow2(V::sub(n, half)));
}

}  // namespace fptq::kernels::generic
