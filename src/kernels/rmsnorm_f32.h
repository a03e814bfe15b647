// RMS normalization (LLaMA: no mean subtraction, no bias).
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace fptq::kernels {

// x, weight, out: [n] f32; out may equal x (in place). n == 0 writes nothing.
// out[i] = x[i] * (1 / sqrt(mean_j x[j]^2 + eps)) * weight[i].
// Runs the active ISA's kernel; kernels_for(isa).rmsnorm_f32 runs a given one.
inline void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  active_kernels().rmsnorm_f32(x, weight, eps, out, n);
}

}  // namespace fptq::kernels
