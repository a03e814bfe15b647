// Register tiling of the AVX-512 GEMM (shared by its kernel and table).
#pragma once

namespace fptq::kernels::avx512 {

// Rows per tile: 14 rows x 32 columns = 28 zmm accumulators, plus two for the
// W panel row and one for the broadcast x value (31 of 32 registers).
inline constexpr int kGemmMr = 14;

}  // namespace fptq::kernels::avx512
