// Conversion of ggml tensor data to float32 (bit-exact with ggml's
// dequantize_row_* reference functions).
#pragma once

#include <cstdint>
#include <vector>

#include "io/ggml_types.h"
#include "io/model_file.h"

namespace fptq::io {

// src: n elements of `type` (n / block_elems blocks, any alignment), dst: n
// floats. Throws fptq::Error when type_info(type).can_dequantize is false or n
// is negative or not a multiple of the block size.
void dequantize(GgmlType type, const void* src, float* dst, int64_t n);

// All elements of t, in storage order (innermost dim fastest). Throws
// fptq::Error naming the tensor and the element when one is NaN or Inf.
std::vector<float> dequantize_tensor(const TensorInfo& t);

}  // namespace fptq::io
