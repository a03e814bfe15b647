// Numerically stable softmax, in place.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace fptq::kernels {

// x: [n] f32, in place: x[i] = exp(x[i] - max) / sum_j exp(x[j] - max).
// Entries may be -inf (masked positions, result 0); at least one must be
// finite when n > 0.
// Runs the active ISA's kernel; kernels_for(isa).softmax_f32 runs a given one.
inline void softmax_f32(float* x, int64_t n) { active_kernels().softmax_f32(x, n); }

}  // namespace fptq::kernels
