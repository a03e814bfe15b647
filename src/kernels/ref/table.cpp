#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {

const KernelTable& table() {
  static const KernelTable t{Isa::Ref,
                             /*gemm_mr=*/4,
                             &gemm_f32_micro,
                             &gemv_f32,
                             &dot_f32,
                             &axpy_f32,
                             &rmsnorm_f32,
                             &softmax_f32,
                             &silu_mul_f32,
                             /*int_mr=*/4,
                             &quantize_row_i8,
                             &rmsnorm_quantize_row_i8,
                             &silu_mul_quantize_row_i8,
                             &group_sums_i8,
                             &w4a8_tile,
                             &w4a8_nl_tile,
                             &w8a8_tile};
  return t;
}

}  // namespace fptq::kernels::ref
