// The per-ISA function table. Every ISA (ref, avx2, avx512vnni) provides the
// same functions with the same signatures (declared in kernel_decls.inc); the
// scalar ref twins in kernels/ref/ are the executable specification.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/int8_layout.h"

namespace fptq::kernels {

struct KernelTable;

// Width (output features) of one packed weight panel, for every ISA:
// a PackedF32 holds W[n][k] as ceil(n/32) panels of [k][32] floats, panel p
// holding rows p*32 .. p*32+31 of W (zero rows past n).
inline constexpr int kPanelWidth = 32;

namespace ref {
#include "kernels/kernel_decls.inc"
const KernelTable& table();
}  // namespace ref
namespace avx2 {
#include "kernels/kernel_decls.inc"
const KernelTable& table();
}  // namespace avx2
namespace avx512 {
#include "kernels/kernel_decls.inc"
const KernelTable& table();
}  // namespace avx512

struct KernelTable {
  Isa isa;
  // Rows of x per packed A micro-panel that gemm_f32_micro is tuned for.
  int gemm_mr;
  decltype(&ref::gemm_f32_micro) gemm_f32_micro;
  decltype(&ref::gemv_f32) gemv_f32;
  decltype(&ref::dot_f32) dot_f32;
  decltype(&ref::axpy_f32) axpy_f32;
  decltype(&ref::rmsnorm_f32) rmsnorm_f32;
  decltype(&ref::softmax_f32) softmax_f32;
  decltype(&ref::silu_mul_f32) silu_mul_f32;
  // Rows of x per integer register tile (1 .. kIntMaxTileRows).
  int int_mr;
  decltype(&ref::quantize_row_i8) quantize_row_i8;
  decltype(&ref::rmsnorm_quantize_row_i8) rmsnorm_quantize_row_i8;
  decltype(&ref::silu_mul_quantize_row_i8) silu_mul_quantize_row_i8;
  decltype(&ref::group_sums_i8) group_sums_i8;
  decltype(&ref::w4a8_tile) w4a8_tile;
  decltype(&ref::w4a8_nl_tile) w4a8_nl_tile;
  decltype(&ref::w8a8_tile) w8a8_tile;
};

}  // namespace fptq::kernels
