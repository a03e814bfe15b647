// Helpers shared by the quantization-pipeline tests: the real models and
// texts they run on (model/forward_util.h: stories260K, golden ids, logits,
// perplexity of a text), a calibration shortcut, error bounds.
#pragma once

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward_util.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::quant::testutil {

using model::golden_ids;
using model::prefill_all;
using model::stories_path;
using model::text_ppl;

// Statistics from `samples` × `seqlen` random tokens (seed 0).
inline CalibStatsSet random_stats(const model::Model& m, int64_t samples, int64_t seqlen,
                                  ThreadPool& pool, uint64_t seed = 0) {
  const auto tok = tok::Tokenizer::from_metadata(m.file().metadata, m.file().path);
  CalibOptions o;
  o.samples = samples;
  o.seqlen = seqlen;
  o.seed = seed;
  return calibrate(m, make_calib_data(*tok, m.config(), o), pool);
}

// Worst-case FP32 forward-error scale for logits (as in tests/model): every
// layer sums dot products of length dim (q/k/v, gate/up), n_head·head_dim
// (W_o), ffn_dim (W_down) and n_tokens (attention), each within length·eps
// of the sum of |terms|; the residual stream carries every layer's error to
// the head (length dim). Relative to the largest |logit|.
inline double fp32_logits_tolerance(const model::LlamaConfig& c, int64_t n_tokens,
                                    double max_abs_logit) {
  const double eps = std::numeric_limits<float>::epsilon();
  const double per_layer = double(c.dim + c.n_head * c.head_dim + c.ffn_dim + n_tokens);
  return (double(c.n_layer) * per_layer + double(c.dim)) * eps * max_abs_logit;
}

inline double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace fptq::quant::testutil
