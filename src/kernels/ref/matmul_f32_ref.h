// The plain matrix product that defines matmul_f32 (used by tests/benchmarks).
#pragma once

#include <cstdint>

namespace fptq::kernels::ref {

// x: [m][k] f32, w: [n][k] f32 (row-major, unpacked), y: [m][n] f32 = x · wᵀ.
// Each output is accumulated in double and rounded once, so it is within
// half an ulp of the exact sum: the yardstick fast kernels are measured by.
void matmul_f32_unpacked_ref(const float* x, const float* w, float* y, int64_t m, int64_t n,
                             int64_t k);

// abs_sum[i][j] = sum_t |x[i][t] * w[j][t]| (shapes as above), the scale of
// the rounding error any summation order can make in y[i][j].
void matmul_f32_abs_sum_ref(const float* x, const float* w, float* abs_sum, int64_t m, int64_t n,
                            int64_t k);

}  // namespace fptq::kernels::ref
