// The input of each matmul group, prepared as the engine plan says: float
// (F32 engine / emulate mode, where an observer may rewrite it) or int8 with
// per-row Δ and int4-group sums (integer engine), quantized once per point
// and shared by q/k/v and by gate/up. Where no observer is attached the
// producing operation and the quantizer run fused (RMSNorm -> int8,
// SiLU·up -> int8); the kernels guarantee the fused result equals the f32
// operation followed by the quantizer, bit for bit.
#include "core/error.h"
#include "kernels/quantize_i8.h"
#include "kernels/rmsnorm_f32.h"
#include "kernels/silu_mul_f32.h"
#include "model/batch.h"

namespace fptq::model {

// Group sums for the W4A8 consumers; x̂ = q·Δ (the fake-quantized value the
// emulation computes, same float product) for the F32 consumers.
MatmulIn Model::quantize_input(const PointEngine& p, float* x, int64_t rows, int64_t cols,
                               Batch& b) const {
  MatmulIn in{x, b.xq.data(), b.xs.data(), nullptr, 0};
  if (p.group > 0) {
    kernels::group_sums_rows_i8(b.xq.data(), rows, cols, p.group, b.group_sums.data());
    in.group_sums = b.group_sums.data();
    in.group = p.group;
  }
  if (p.float_consumers) {
    for (int64_t r = 0; r < rows; ++r) {
      const float d = b.xs[size_t(r)];
      for (int64_t c = 0; c < cols; ++c) x[r * cols + c] = float(b.xq[size_t(r * cols + c)]) * d;
    }
  }
  return in;
}

// x: [rows][cols] f32 in a buffer of the batch, about to enter the matmuls
// of point (layer, kind).
MatmulIn Model::matmul_input(int64_t layer, MatmulInput kind, float* x, int64_t rows,
                             int64_t cols, Batch& b, Observer* obs) const {
  observe(obs, layer, kind, x, rows, cols);
  const PointEngine& p = plan_.point(layer, kind);
  if (!p.quantized) return MatmulIn{x};
  kernels::quantize_rows_i8(x, rows, cols, p.act, b.xq.data(), b.xs.data());
  return quantize_input(p, x, rows, cols, b);
}

// RMSNorm(x) ⊙ gain of `rows` rows of width dim into b.xn, as the input of
// point (layer, kind).
MatmulIn Model::norm_input(int64_t layer, MatmulInput kind, const float* x,
                           const std::vector<float>& gain, int64_t rows, Batch& b,
                           Observer* obs) const {
  const int64_t n = cfg_.dim;
  const PointEngine& p = plan_.point(layer, kind);
  if (p.quantized && !obs && !p.float_consumers) {
    kernels::rmsnorm_quantize_rows_i8(x, gain.data(), cfg_.rms_eps, rows, n, p.act, b.xq.data(),
                                      b.xs.data());
    return quantize_input(p, b.xn.data(), rows, n, b);
  }
  for (int64_t r = 0; r < rows; ++r) {
    kernels::rmsnorm_f32(x + r * n, gain.data(), cfg_.rms_eps, b.xn.data() + r * n, n);
  }
  return matmul_input(layer, kind, b.xn.data(), rows, n, b, obs);
}

// SiLU(gate) ⊙ up into b.gate, as the input of W_down.
MatmulIn Model::silu_mul_input(int64_t layer, Batch& b, Observer* obs) const {
  const int64_t m = b.rows, n = cfg_.ffn_dim;
  const PointEngine& p = plan_.point(layer, MatmulInput::ffn_down_in);
  if (p.quantized && !obs && !p.float_consumers) {
    kernels::silu_mul_quantize_rows_i8(b.gate.data(), b.up.data(), m, n, p.act, b.xq.data(),
                                       b.xs.data());
    return quantize_input(p, b.gate.data(), m, n, b);
  }
  kernels::silu_mul_f32(b.gate.data(), b.up.data(), b.gate.data(), m * n);
  return matmul_input(layer, MatmulInput::ffn_down_in, b.gate.data(), m, n, b, obs);
}

}  // namespace fptq::model
