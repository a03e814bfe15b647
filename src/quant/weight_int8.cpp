#include "quant/weight_int8.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/half.h"

namespace fptq::quant {

Int8Weights quantize_int8_rows(std::span<const float> w, int64_t n, int64_t k, int64_t tensor_k) {
  if (n < 0 || k <= 0) fail("int8: bad shape [{}][{}]", n, k);
  if (int64_t(w.size()) % k != 0 || int64_t(w.size()) / k != n)
    fail("int8: weight of {} values is not [{}][{}]", w.size(), n, k);
  Int8Weights q;
  q.n = n;
  q.k = k;
  q.codes.resize(w.size());
  q.scales.resize(size_t(n));
  // Row i of w as the tensor's row and columns.
  const int64_t tk = tensor_k > 0 ? tensor_k : k;
  auto where = [&](int64_t i) {
    const int64_t f = i * k;
    return fmt::format("row {}, columns {}..{}", f / tk, f % tk, f % tk + k - 1);
  };
  for (int64_t i = 0; i < n; ++i) {
    const auto row = w.subspan(size_t(i * k), size_t(k));
    float amax = 0.0f;
    for (float v : row) {
      if (!std::isfinite(v)) fail("int8: {} hold a non-finite value {}", where(i), v);
      amax = std::max(amax, std::fabs(v));
    }
    const float d = fp16_to_f32(f32_to_fp16(amax / 127.0f));
    if (!std::isfinite(d))
      fail("int8: {}: scale {} overflows fp16 (largest 65504)", where(i), amax / 127.0f);
    q.scales[size_t(i)] = d;
    for (int64_t j = 0; j < k; ++j) {
      int8_t c = 0;
      if (d != 0.0f) c = int8_t(std::clamp(std::nearbyint(row[size_t(j)] / d), -127.0f, 127.0f));
      q.codes[size_t(i * k + j)] = c;
    }
  }
  return q;
}

std::vector<float> dequantize_int8(const Int8Weights& q) {
  std::vector<float> out(q.codes.size());
  for (int64_t i = 0; i < q.n; ++i)
    for (int64_t j = 0; j < q.k; ++j)
      out[size_t(i * q.k + j)] = float(q.codes[size_t(i * q.k + j)]) * q.scales[size_t(i)];
  return out;
}

std::vector<io::BlockQ8_0> pack_q8_0(const Int8Weights& q) {
  if (q.k % io::kQK != 0) fail("pack_q8_0: k = {} is not a multiple of {}", q.k, io::kQK);
  const int64_t bpr = q.k / io::kQK;
  std::vector<io::BlockQ8_0> out(size_t(q.n * bpr));
  for (int64_t i = 0; i < q.n; ++i) {
    for (int64_t b = 0; b < bpr; ++b) {
      io::BlockQ8_0& blk = out[size_t(i * bpr + b)];
      blk.d = f32_to_fp16(q.scales[size_t(i)]);
      for (int j = 0; j < io::kQK; ++j) blk.qs[j] = q.codes[size_t(i * q.k + b * io::kQK + j)];
    }
  }
  return out;
}

}  // namespace fptq::quant
