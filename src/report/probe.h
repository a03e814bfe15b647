// The probe behind `fptq report`: a few calibration sequences run through the
// FP model; at every block point the input rows are reduced to statistics
// before and after the LAE fold, the activation quantizer of the quantized
// twin is applied to them, and a sample of rows is multiplied by the FP and by
// the quantized weights to measure each layer's output error in isolation
// (the FP activations in, so errors do not compound). Also records which
// tokens set each point's range.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/quant_spec.h"
#include "quant/calib_stats.h"
#include "quant/calibrate.h"
#include "report/mixed_model.h"
#include "report/stats.h"
#include "tokenizer/tokenizer.h"

namespace fptq::report {

struct TopRow {
  float value = 0;      // max_j |x[t, j]| of the row (before LAE)
  int64_t channel = 0;  // the j that holds it
  int64_t seq = 0, pos = 0;
  int32_t token = 0;
  std::string context;  // the text of a few tokens before it, and the token in [brackets]
};

struct TensorProbe {
  std::string name;
  std::string type;       // the quantized file's type ("Q4_0", "F16", ...)
  int64_t n = 0, k = 0;
  double weight_nmse = 0; // Σ(ŵ − w·s)² / Σ(w·s)², s = the point's fold (1 without)
  float w_absmax = 0;     // max |w·s|
  LinearHistogram hist_fp, hist_q;  // signed values of w·s and ŵ over [−w_absmax, w_absmax]
  double out_nmse = 0;    // Σ(ŷ − y)² / Σy² on the probe rows: y = x·Wᵀ, ŷ = Q(x/s)·Ŵᵀ
  CodeHistogram codes;    // the stored integer codes (Q4_0: −8..7, Q8_0); empty for F16/F32
};

struct PointProbe {
  std::string name;  // "blk.3.ffn_down_in"
  int64_t layer = 0;
  std::string kind;  // "ffn_down_in"
  model::PointQuant quant;  // the twin's quantizer
  std::string strategy;     // "static", "lae_static", "dynamic", "fp"
  std::vector<float> fold;  // s_j (empty: no fold), recovered from the norms
  quant::ChannelStats before, after;  // probe rows, before / after the fold
  double act_nmse = 0;      // Σ(Q(x') − x')² / Σx'² (x' = x / s)
  double zero_frac = 0;     // static only: |x'| < Δ/2 (rounds to 0)
  double clip_frac = 0;     // static only: |x'| > 127.5 Δ (saturates)
  CodeHistogram act_codes;  // int8 codes of every probe row after LAE (static: Δ, saturated =
                            // clipped; dynamic: per-token Δ_t); empty for fp points
  int64_t rows_sampled = 0; // rows used for the output error
  double out_nmse = 0;      // over every consumer together
  std::vector<TensorProbe> tensors;
  std::vector<TopRow> top;  // largest rows, largest first
};

struct ProbeOptions {
  int64_t rows_per_point = 256;  // rows multiplied by the weights (evenly spread)
  int64_t top_rows = 5;          // range-setting rows kept per point
  int64_t context_tokens = 6;    // tokens shown before the range-setting one
  int hist_bins = 64;            // weight histogram bins
};

std::string strategy_of(const model::PointQuant& q);

// s_j of every folded point of the twin: fp_norm[j] / q_norm[j] (1 where the
// quantized norm is 0). Empty for unfolded points.
std::vector<float> recover_fold(const QuantizedPair& pair, int64_t layer, model::MatmulInput kind);

std::vector<PointProbe> probe_points(const QuantizedPair& pair, const quant::CalibData& data,
                                     const tok::Tokenizer& tok, ThreadPool& pool,
                                     const ProbeOptions& opts = {});

}  // namespace fptq::report
