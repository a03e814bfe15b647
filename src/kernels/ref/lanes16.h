// The scalar form of the contract's 16-lane reductions (docs/numerics.md):
// element i of a row goes to lane i mod 16; the lanes are then combined by a
// fixed tree of halvings (lane j += lane j + w for w = 8, 4, 2, 1). Every SIMD
// path reproduces this order (x86/generic/lanes16.h).
#pragma once

namespace fptq::kernels::ref {

inline constexpr int kSumLanes = 16;

// Reduces s[0..16) by the tree, in place; returns the sum.
inline float reduce16(float* s) {
  for (int w = kSumLanes / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) s[j] = s[j] + s[j + w];
  return s[0];
}

}  // namespace fptq::kernels::ref
