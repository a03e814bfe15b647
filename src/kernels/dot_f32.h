// Dot product of two f32 vectors.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace fptq::kernels {

// a, b: [n] f32. Returns sum_i a[i]*b[i] (SIMD: 4 vector accumulators, fixed
// order; deterministic for a given ISA and n).
// Runs the active ISA's kernel; kernels_for(isa).dot_f32 runs a given one.
inline float dot_f32(const float* a, const float* b, int64_t n) {
  return active_kernels().dot_f32(a, b, n);
}

}  // namespace fptq::kernels
