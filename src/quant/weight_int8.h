// Symmetric per-output-channel int8 weights (SmoothQuant W8A8 and the 8-bit
// fallback for tensors int4 cannot take, e.g. K not divisible by the group).
//   d_i = fp16(max_j |w[i, j]| / 127),   q = clamp(nearbyint(w / d_i), −127, 127)
// The scale is rounded to fp16 first (Q8_0 stores fp16 d) and the codes are
// computed with the rounded scale. An all-zero row gets d = 0 and codes 0.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/ggml_blocks.h"

namespace fptq::quant {

struct Int8Weights {
  int64_t n = 0, k = 0;
  std::vector<int8_t> codes;  // [n][k], −127..127
  std::vector<float> scales;  // [n], each exactly an fp16 value, >= 0
};

// w: [n][k] row-major. Throws fptq::Error when w.size() != n·k, n < 0, k <= 0,
// a value is not finite, or a scale overflows fp16; the message names the row
// and columns in a tensor whose rows are `tensor_k` long (0: k), so a tensor
// quantized as rows of 32-blocks (Q8_0) is named by its own coordinates.
Int8Weights quantize_int8_rows(std::span<const float> w, int64_t n, int64_t k,
                               int64_t tensor_k = 0);

// ŵ: [n][k], ŵ[i, j] = codes[i, j] · scales[i].
std::vector<float> dequantize_int8(const Int8Weights& q);

// Q8_0 blocks: [n][k/32], d = the row scale in every block of the row.
// Throws fptq::Error when k % 32 != 0.
std::vector<io::BlockQ8_0> pack_q8_0(const Int8Weights& q);

}  // namespace fptq::quant
