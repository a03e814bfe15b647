// Helpers shared by the quantization-pipeline tests: the real models and
// texts they run on, a calibration shortcut, logits and per-text NLL.
#pragma once

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "quant/calibrate.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace fptq::quant::testutil {

inline std::string stories_path() {
  return testing::shared_data("models/stories260K.gguf").string();
}

// BOS + the 256 tokens of the golden greedy story.
inline std::vector<int32_t> golden_ids() {
  std::ifstream in(testing::shared_data("golden/stories260K-greedy-256-ids.txt"));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

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

// Logits of every position of `ids`, one batch.
inline std::vector<float> all_logits(const model::Model& m, const std::vector<int32_t>& ids,
                                     ThreadPool& pool, model::Observer* obs = nullptr) {
  model::KvCache cache(m.config(), int64_t(ids.size()));
  std::vector<float> logits;
  m.forward(ids, cache, pool, model::Logits::all, logits, obs);
  return logits;
}

// Perplexity of `ids` under the model, every prediction scored with full
// context (the protocol of the README's 1.5799 for the golden text).
inline double text_ppl(const model::Model& m, const std::vector<int32_t>& ids, ThreadPool& pool,
                       model::Observer* obs = nullptr) {
  const std::vector<float> logits = all_logits(m, ids, pool, obs);
  const int64_t V = m.config().n_vocab;
  double nll = 0;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    const float* row = logits.data() + int64_t(t) * V;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
    double z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
    nll += mx + std::log(z) - double(row[ids[t + 1]]);
  }
  return std::exp(nll / double(ids.size() - 1));
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
