// Register tiling of the AVX2 GEMM (shared by its kernel and table).
#pragma once

namespace fptq::kernels::avx2 {

// Rows per tile: 6 rows x 16 columns = 12 ymm accumulators, plus two for the
// W panel row and one for the broadcast x value (15 of 16 registers). A
// 32-wide panel is done as two 16-wide halves.
inline constexpr int kGemmMr = 6;

}  // namespace fptq::kernels::avx2
