// Exact emulation of a quantized model's activation quantizers: an Observer
// that rewrites every matmul input in place as its int8 quantizer would
// (act_quant.h fake_quant_*): static points with their calibrated Δ,
// dynamic points per token, fp points untouched. Attached to a Model loaded
// from the quantized GGUF (whose Q4_0/Q8_0 weights dequantize exactly), the
// forward pass computes what the W4A8 integer path computes, up to float
// summation order. Used to calibrate and evaluate in process until the
// engine runs fptq files by itself.
#pragma once

#include "model/observer.h"
#include "model/quant_spec.h"

namespace fptq::quant {

class EmulationObserver : public model::Observer {
 public:
  // spec.layers.size() must be the model's block count (checked per call).
  explicit EmulationObserver(model::QuantSpec spec) : spec_(std::move(spec)) {}
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override;
  const model::QuantSpec& spec() const { return spec_; }

 private:
  model::QuantSpec spec_;
};

}  // namespace fptq::quant
