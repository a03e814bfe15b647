// y += alpha * x on f32 vectors.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace fptq::kernels {

// x, y: [n] f32. y[i] += alpha * x[i].
// Runs the active ISA's kernel; kernels_for(isa).axpy_f32 runs a given one.
inline void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  active_kernels().axpy_f32(alpha, x, y, n);
}

}  // namespace fptq::kernels
