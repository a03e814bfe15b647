#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

const KernelTable& table() {
  static const KernelTable t{Isa::Ref,  /*gemm_mr=*/4, &gemm_f32_micro, &gemv_f32,    &dot_f32,
                             &axpy_f32, &rmsnorm_f32,  &softmax_f32,    &silu_mul_f32};
  return t;
}

}  // namespace fptq::kernels::ref
