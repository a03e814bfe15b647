// SwiGLU gate: silu(gate) * up.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace fptq::kernels {

// gate, up, out: [n] f32; out may equal gate or up.
// out[i] = gate[i] / (1 + exp(-gate[i])) * up[i].
// Runs the active ISA's kernel; kernels_for(isa).silu_mul_f32 runs a given one.
inline void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  active_kernels().silu_mul_f32(gate, up, out, n);
}

}  // namespace fptq::kernels
