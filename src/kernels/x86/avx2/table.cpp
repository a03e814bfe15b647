#include "kernels/kernel_table.h"
#include "kernels/x86/avx2/gemm_f32.h"
#include "kernels/x86/avx2/ivec.h"

namespace fptq::kernels::avx2 {

const KernelTable& table() {
  static const KernelTable t{Isa::Avx2,
                             kGemmMr,
                             &gemm_f32_micro,
                             &gemv_f32,
                             &dot_f32,
                             &axpy_f32,
                             &rmsnorm_f32,
                             &softmax_f32,
                             &silu_mul_f32,
                             IVec::kMr,
                             &quantize_row_i8,
                             &rmsnorm_quantize_row_i8,
                             &silu_mul_quantize_row_i8,
                             &group_sums_i8,
                             &w4a8_tile,
                             &w4a8_nl_tile,
                             &w8a8_tile};
  return t;
}

}  // namespace fptq::kernels::avx2
