// The avx2 instantiations of the generic vector kernels (x86/generic/).
// Compiled with the avx2 flags only; uses no inline library code shared with
// baseline translation units (see src/kernels/CMakeLists.txt).
#include "kernels/kernel_table.h"
#include "kernels/x86/avx2/vec.h"
#include "kernels/x86/generic/axpy_f32.h"
#include "kernels/x86/generic/dot_f32.h"
#include "kernels/x86/generic/rmsnorm_f32.h"
#include "kernels/x86/generic/silu_mul_f32.h"
#include "kernels/x86/generic/softmax_f32.h"

namespace fptq::kernels::avx2 {

float dot_f32(const float* a, const float* b, int64_t n) { return generic::dot_f32<Vec>(a, b, n); }

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  generic::axpy_f32<Vec>(alpha, x, y, n);
}

void rmsnorm_f32(const float* x, const float* weight, float eps, float* out, int64_t n) {
  generic::rmsnorm_f32<Vec>(x, weight, eps, out, n);
}

void softmax_f32(float* x, int64_t n) { generic::softmax_f32<Vec>(x, n); }

void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  generic::silu_mul_f32<Vec>(gate, up, out, n);
}

}  // namespace fptq::kernels::avx2
