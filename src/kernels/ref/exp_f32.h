// The contract's exp (docs/numerics.md): the scalar twin of the SIMD exp of
// x86/generic/exp_f32.h, operation for operation, so softmax and SiLU give the
// same bits on every ISA. Within ~2 ulp of the correctly rounded exp for
// normal results; +inf above ~88.72, subnormal or 0 below ~-87.3.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace fptq::kernels::ref {

// 2^e for integer-valued e in [-126, 127], built from the exponent bits.
inline float pow2_bits(float e) {
  return std::bit_cast<float>(uint32_t(int32_t(e) + 127) << 23);
}

// x = n*ln2 + r, n = round(x/ln2) (ties to even), ln2 split in a 9-bit head
// and a tail so n*ln2_hi is exact; e^r by its degree-7 Taylor polynomial in
// Horner form, every step one fused multiply-add; 2^n as 2^h * 2^(n-h).
// The clamp is the SIMD max/min: max(x, c) = x > c ? x : c (NaN -> c).
inline float exp_f32(float x) {
  x = x > -104.0f ? x : -104.0f;
  x = x < 89.0f ? x : 89.0f;
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = std::fma(n, -0.693359375f, x);
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.0f / 5040.0f;
  p = std::fma(p, r, 1.0f / 720.0f);
  p = std::fma(p, r, 1.0f / 120.0f);
  p = std::fma(p, r, 1.0f / 24.0f);
  p = std::fma(p, r, 1.0f / 6.0f);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  const float half = std::nearbyint(n * 0.5f);
  return (p * pow2_bits(half)) * pow2_bits(n - half);
}

}  // namespace fptq::kernels::ref
