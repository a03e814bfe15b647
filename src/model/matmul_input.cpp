// The input of each matmul group, prepared as the engine plan says: float
// (F32 engine / emulate mode, where an observer may rewrite it) or int8 with
// per-row Δ and int4-group sums (integer engine), quantized once per point
// and shared by q/k/v and by gate/up. Where no observer is attached the
// producing operation and the quantizer run fused (RMSNorm -> int8,
// SiLU·up -> int8); the kernels guarantee the fused result equals the f32
// operation followed by the quantizer, bit for bit.
#include <cmath>

#include "core/error.h"
#include "kernels/quantize_i8.h"
#include "kernels/rmsnorm_f32.h"
#include "kernels/silu_mul_f32.h"
#include "model/batch.h"
#include "model/profile.h"

namespace fptq::model {
namespace {

// Rows per thread below which quantizing stays on one thread.
constexpr int64_t kMinQuantRows = 16;

OpClass quant_class(const PointEngine& p) {
  return p.act.static_delta > 0.0f ? OpClass::quant_static : OpClass::quant_dynamic;
}

// Emulate mode: x = codes · Δ_r exactly? Writes the codes (as f32) into c.
// x / Δ is within 127·2^-24 of the code that produced x = fl(code · Δ), so
// rounding it recovers the code; the check then proves the pair reproduces x.
// delta: one Δ per `group` values (group = cols: per row).
bool recover_codes(const float* x, const float* delta, int64_t rows, int64_t cols, int64_t group,
                   float* c) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) {
      const float d = delta[(r * cols + i) / group];
      if (!(d > 0.0f) || !std::isfinite(d)) return false;
      const float v = x[r * cols + i];
      const float q = std::nearbyint(v / d);
      if (!(q >= -127.0f && q <= 127.0f) || q * d != v) return false;
      c[r * cols + i] = q;
    }
  }
  return true;
}

// Where rows r0.. of a grouped point's Δ go (nullptr for per-row points).
float* group_scales(const PointEngine& p, std::vector<float>& xg, int64_t r0, int64_t cols) {
  return p.act.group > 0 ? xg.data() + r0 * (cols / p.act.group) : nullptr;
}

}  // namespace

// Group sums for the W4A8 consumers; x̂ = q·Δ (the fake-quantized value the
// emulation computes, same float product) for the F32 consumers. Not timed:
// the caller's OpTimer covers it with the codes, one call per quantization.
MatmulIn Model::quantize_input(const PointEngine& p, float* x, int64_t rows, int64_t cols,
                               Batch& b) const {
  MatmulIn in{x, b.xq.data(), b.xs.data(), nullptr, 0};
  const int64_t ag = p.act.group;
  if (ag > 0) {
    in.group_scale = b.xg.data();
    in.act_group = ag;
  }
  if (p.group > 0) {
    const int64_t gpr = cols / p.group;
    for_row_chunks(*b.pool, rows, kMinQuantRows, [&](int64_t r0, int64_t r1) {
      kernels::group_sums_rows_i8(b.xq.data() + r0 * cols, r1 - r0, cols, p.group,
                                  b.group_sums.data() + r0 * gpr);
    });
    in.group_sums = b.group_sums.data();
    in.group = p.group;
  }
  if (p.float_consumers) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const float d = ag > 0 ? b.xg[size_t((r * cols + c) / ag)] : b.xs[size_t(r)];
        x[r * cols + c] = float(b.xq[size_t(r * cols + c)]) * d;
      }
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
  if (plan_.mode == RunMode::emulate && obs) {
    const size_t idx = layer < 0 ? point_names_.size() - 1 : size_t(layer * 4 + int64_t(kind));
    const ObservationPoint pt{layer, kind, point_names_[idx]};
    int64_t g = 0;
    if (obs->input_group_scales(pt, rows, cols, b.xg, g)) {
      b.xc.resize(b.xq.size());
      if (recover_codes(x, b.xg.data(), rows, cols, g, b.xc.data())) {
        MatmulIn in{x};
        in.codes = b.xc.data();
        in.group_scale = b.xg.data();
        in.act_group = g;
        return in;
      }
    } else if (obs->input_scales(pt, b.xs.data(), rows)) {
      b.xc.resize(b.xq.size());
      if (recover_codes(x, b.xs.data(), rows, cols, cols, b.xc.data())) {
        MatmulIn in{x};
        in.scale = b.xs.data();
        in.codes = b.xc.data();
        return in;
      }
    }
  }
  if (!p.quantized) return MatmulIn{x};
  const OpTimer timer(quant_class(p));  // one call: the codes and quantize_input
  for_row_chunks(*b.pool, rows, kMinQuantRows, [&](int64_t r0, int64_t r1) {
    kernels::quantize_rows_i8(x + r0 * cols, r1 - r0, cols, p.act, b.xq.data() + r0 * cols,
                              b.xs.data() + r0, group_scales(p, b.xg, r0, cols));
  });
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
    const OpTimer timer(quant_class(p));
    for_row_chunks(*b.pool, rows, kMinQuantRows, [&](int64_t r0, int64_t r1) {
      kernels::rmsnorm_quantize_rows_i8(x + r0 * n, gain.data(), cfg_.rms_eps, r1 - r0, n, p.act,
                                        b.xq.data() + r0 * n, b.xs.data() + r0,
                                        group_scales(p, b.xg, r0, n));
    });
    return quantize_input(p, b.xn.data(), rows, n, b);
  }
  {
    const OpTimer timer(OpClass::norm_elementwise);
    for_row_chunks(*b.pool, rows, kMinQuantRows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        kernels::rmsnorm_f32(x + r * n, gain.data(), cfg_.rms_eps, b.xn.data() + r * n, n);
    });
  }
  return matmul_input(layer, kind, b.xn.data(), rows, n, b, obs);
}

// SiLU(gate) ⊙ up into b.gate, as the input of W_down.
MatmulIn Model::silu_mul_input(int64_t layer, Batch& b, Observer* obs) const {
  const int64_t m = b.rows, n = cfg_.ffn_dim;
  const PointEngine& p = plan_.point(layer, MatmulInput::ffn_down_in);
  if (p.quantized && !obs && !p.float_consumers) {
    const OpTimer timer(quant_class(p));
    for_row_chunks(*b.pool, m, kMinQuantRows, [&](int64_t r0, int64_t r1) {
      kernels::silu_mul_quantize_rows_i8(b.gate.data() + r0 * n, b.up.data() + r0 * n, r1 - r0, n,
                                         p.act, b.xq.data() + r0 * n, b.xs.data() + r0,
                                         group_scales(p, b.xg, r0, n));
    });
    return quantize_input(p, b.gate.data(), m, n, b);
  }
  {
    const OpTimer timer(OpClass::norm_elementwise);
    for_row_chunks(*b.pool, m, kMinQuantRows, [&](int64_t r0, int64_t r1) {
      kernels::silu_mul_f32(b.gate.data() + r0 * n, b.up.data() + r0 * n, b.gate.data() + r0 * n,
                            (r1 - r0) * n);
    });
  }
  return matmul_input(layer, MatmulInput::ffn_down_in, b.gate.data(), m, n, b, obs);
}

}  // namespace fptq::model
