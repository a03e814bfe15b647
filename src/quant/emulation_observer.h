// Exact emulation of a quantized model's activation quantizers: an Observer
// that rewrites every matmul input in place as its int8 quantizer would
// (act_quant.h fake_quant_*): static points with their calibrated Δ,
// dynamic points per token, fp points untouched. Attached to a Model loaded
// from the quantized GGUF (whose Q4_0/Q8_0 weights dequantize exactly), the
// forward pass computes what the W4A8 integer path computes, up to float
// summation order. Used to calibrate and evaluate in process until the
// engine runs fptq files by itself.
#pragma once

#include <vector>

#include "model/observer.h"
#include "model/quant_spec.h"

namespace fptq::quant {

class EmulationObserver : public model::Observer {
 public:
  // spec.layers.size() must be the model's block count (checked per call).
  explicit EmulationObserver(model::QuantSpec spec) : spec_(std::move(spec)) {}
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override;
  // The Δ per row of the last on_matmul_input at `p` (static: its Δ), so the
  // emulate engine can run the codes as the integer kernels do; false at fp
  // points or when `p` was not the last point seen.
  bool input_scales(const model::ObservationPoint& p, float* scales, int64_t rows) override;
  // Grouped dynamic points: the Δ of every activation group of the last input.
  bool input_group_scales(const model::ObservationPoint& p, int64_t rows, int64_t cols,
                          std::vector<float>& scales, int64_t& group) override;
  const model::QuantSpec& spec() const { return spec_; }

 private:
  model::QuantSpec spec_;
  // The last point rounded and its Δ per row.
  int64_t last_layer_ = -2;
  model::MatmulInput last_kind_ = model::MatmulInput::attn_qkv_in;
  std::vector<float> last_scales_;  // [rows], or [rows][cols / last_group_] when grouped
  int64_t last_group_ = 0;
  int64_t last_cols_ = 0;
};

}  // namespace fptq::quant
