// Quantizes a model end to end and writes the quantized GGUF
// (formats.md, "The quantized output"):
//   1. plan (plan.h) from the calibration statistics and the options;
//   2. fold the plan's LAE / SmoothQuant scales into norms and consumer
//      weights (fold_model.h);
//   3. GPTQ schemes only: Hessians H = 2 Σ xᵀx of every int4-quantized
//      layer input, collected in one pass of the FP model over the
//      calibration sequences and then transformed exactly to the folded
//      model: X' = X·S⁻¹ gives H'_ij = H_ij / (s_i s_j). (One pass, all
//      layers at once, on the FP model's activations: "non-sequential" GPTQ.)
//   4. every tensor converted to its planned type, tensors in parallel;
//   5. the input's metadata copied, general.file_type and
//      general.quantization_version set, the fptq.* keys added
//      (model/quant_spec.h), and the file written atomically (temp + rename).
// The tensor list (names, order, shapes) equals the input's. The output is
// byte-identical for the same inputs and options, whatever pool.size().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "quant/calib_stats.h"
#include "quant/calibrate.h"
#include "quant/plan.h"

namespace fptq::quant {

struct TensorResult {
  std::string name;
  io::GgmlType type = io::GgmlType::F32;  // as written (may differ from the plan: see note)
  int64_t elements = 0;
  uint64_t bytes = 0;
  int64_t group = 0;     // Q4_0 group along K, 0 otherwise
  bool linear = false;   // a matmul weight (q, k, v, o, gate, up, down, output)
  double nmse = 0;       // Σ(ŵ − w)² / Σw² against the (folded) FP32 weight; 0 when copied
  std::string note;      // plan note, plus any write-time change (F16 overflow -> F32)
};

struct QuantizeReport {
  QuantPlan plan;
  std::vector<TensorResult> tensors;  // file order
  std::string output_path;
  uint64_t file_bytes = 0;
  int64_t linear_params = 0, total_params = 0;
  uint64_t linear_bytes = 0, tensor_bytes = 0;
  double seconds_hessians = 0, seconds_weights = 0, seconds_total = 0;
  std::vector<std::string> notes;  // e.g. GPTQ damping raised on a layer

  double bpw_linear() const;  // 8 · linear_bytes / linear_params
  // Bits per linear weight as the engine holds them: int4 codes + one fp16
  // scale per group (4 + 16/g: a Q4_0 file repeats a g > 32 scale in every
  // 32-block, the engine keeps it once), Q8_0 8.5, F16 16, F32 32.
  double bpw_linear_engine() const;
  double bpw_tensors() const; // 8 · tensor_bytes / total_params
  double bpw_file() const;    // 8 · file_bytes / total_params (metadata included)
  // Tensors whose type is a fallback (K not divisible, ...), with the reason.
  std::vector<const TensorResult*> fallbacks() const;
};

struct QuantProgress {
  std::string stage;  // "plan" (blocks), "hessians", "weights", "write"
  int64_t done = 0, total = 0;
  double seconds = 0;  // since quantize_model started
};
using QuantProgressFn = std::function<void(const QuantProgress&)>;

// Quantizes `src` with `stats` under `opts` into `out_path`.
// gptq_data: the calibration sequences, required (non-null) for GPTQ schemes.
// Throws fptq::Error (leaving no output file) on bad options or stats, an
// output path equal to the input, a missing output folder, GPTQ without
// data, or a write failure.
QuantizeReport quantize_model(std::shared_ptr<const io::ModelFile> src, const CalibStatsSet& stats,
                              const QuantizeOptions& opts, const std::string& out_path,
                              ThreadPool& pool, const QuantProgressFn& progress = {},
                              const CalibData* gptq_data = nullptr);

}  // namespace fptq::quant
