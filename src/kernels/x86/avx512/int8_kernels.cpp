// The avx512 instantiations of the integer kernels (x86/generic/quantize_i8.h,
// x86/generic/int_gemm_tile.h). Compiled with the avx512 flags only; uses no
// inline library code shared with baseline translation units.
#include "kernels/kernel_table.h"
#include "kernels/x86/avx512/ivec.h"
#include "kernels/x86/generic/int_gemm_tile.h"
#include "kernels/x86/generic/quantize_i8.h"

namespace fptq::kernels::avx512 {

float quantize_row_i8(const float* x, float delta, int8_t* q, int64_t n) {
  return generic::quantize_row_i8<IVec>(x, delta, q, n);
}

float rmsnorm_quantize_row_i8(const float* x, const float* weight, float eps, float delta,
                              int8_t* q, int64_t n) {
  return generic::rmsnorm_quantize_row_i8<IVec>(x, weight, eps, delta, q, n);
}

float silu_mul_quantize_row_i8(const float* gate, const float* up, float delta, int8_t* q,
                               int64_t n) {
  return generic::silu_mul_quantize_row_i8<IVec>(gate, up, delta, q, n);
}

void group_sums_i8(const int8_t* q, int64_t k, int64_t group, int32_t* sums) {
  generic::group_sums_i8<IVec>(q, k, group, sums);
}

void w4a8_tile(const IntTileArgs& t) { generic::w4a8_tile<IVec>(t); }

void w4a8_nl_tile(const IntTileArgs& t) { generic::w4a8_nl_tile<IVec>(t); }

void w8a8_tile(const IntTileArgs& t) { generic::w8a8_tile<IVec>(t); }

}  // namespace fptq::kernels::avx512
