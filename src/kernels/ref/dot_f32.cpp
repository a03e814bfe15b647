#include <cmath>

#include "kernels/kernel_table.h"
#include "kernels/ref/lanes16.h"

namespace fptq::kernels::ref {

// a, b: [n]. The contract's order: four 16-lane accumulators s0..s3; blocks
// of 64 elements put element 16c + j of the block into s_c[j]; then blocks of
// 16 and the tail go into s0 (element j of the block into s0[j]); every step
// is one fused multiply-add. Then s[j] = (s0[j] + s1[j]) + (s2[j] + s3[j])
// and the 16-lane tree.
float dot_f32(const float* a, const float* b, int64_t n) {
  constexpr int64_t L = kSumLanes;
  float s[4][kSumLanes] = {};
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L)
    for (int c = 0; c < 4; ++c)
      for (int64_t j = 0; j < L; ++j)
        s[c][j] = std::fma(a[i + c * L + j], b[i + c * L + j], s[c][j]);
  for (; i < n; i += L)
    for (int64_t j = 0; j < L && i + j < n; ++j) s[0][j] = std::fma(a[i + j], b[i + j], s[0][j]);
  float t[kSumLanes];
  for (int j = 0; j < kSumLanes; ++j) t[j] = (s[0][j] + s[1][j]) + (s[2][j] + s[3][j]);
  return reduce16(t);
}

}  // namespace fptq::kernels::ref
