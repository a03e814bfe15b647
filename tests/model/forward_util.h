// Helpers of the forward tests (forward_test, sliding_window_test, and through
// engine_test_util.h / quant/pipeline_test_util.h the engine and pipeline
// tests): the stories260K path, the golden token sequence, perplexity of a text, logits of every position by prefill and by
// token-by-token decode, and the rounding bound the two paths are compared
// with.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "testing/testing.h"

namespace fptq::model {

inline std::string stories_path() {
  return testing::shared_data("models/stories260K.gguf").string();
}

// A long real sequence: the golden greedy text of stories260K, BOS + 256
// tokens (several attention row blocks).
inline std::vector<int32_t> golden_ids() {
  std::ifstream in(testing::shared_data("golden/stories260K-greedy-256-ids.txt"));
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

// Logits of every position, the sequence processed as one batch.
inline std::vector<float> prefill_all(const Model& m, const std::vector<int32_t>& ids,
                                      ThreadPool& pool, Observer* obs = nullptr) {
  KvCache cache(m.config(), int64_t(ids.size()));
  std::vector<float> logits;
  m.forward(ids, cache, pool, Logits::all, logits, obs);
  return logits;
}

// Perplexity of `ids`, every prediction scored with full context (the
// protocol of the README's 1.5799 for the golden text).
inline double text_ppl(const Model& m, const std::vector<int32_t>& ids, ThreadPool& pool,
                       Observer* obs = nullptr) {
  const std::vector<float> logits = prefill_all(m, ids, pool, obs);
  const int64_t V = m.config().n_vocab;
  double nll = 0;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    const float* row = logits.data() + int64_t(t) * V;
    const double mx = *std::max_element(row, row + V);
    double z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
    nll += mx + std::log(z) - double(row[ids[t + 1]]);
  }
  return std::exp(nll / double(ids.size() - 1));
}

// Logits of every position, one decode step per token.
inline std::vector<float> decode_all(const Model& m, const std::vector<int32_t>& ids,
                                     ThreadPool& pool) {
  KvCache cache(m.config(), int64_t(ids.size()));
  std::vector<float> all, step;
  for (int32_t id : ids) {
    const int32_t one[1] = {id};
    m.forward(one, cache, pool, Logits::last, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

// Worst-case FP32 rounding bound for logits that two evaluation orders of the
// same computation may disagree by: each layer sums dot products of length
// dim (q/k/v, gate/up), n_head·head_dim (W_o), ffn_dim (W_down) and up to
// n_tokens (attention), each within (length · eps) relative to the sum of
// |terms|, and the residual stream carries every layer's error to the head
// (a sum of length dim). Relative to the largest |logit|.
inline double logits_tolerance(const LlamaConfig& c, int64_t n_tokens, double max_abs_logit) {
  const double eps = std::numeric_limits<float>::epsilon();
  const double per_layer = double(c.dim + c.n_head * c.head_dim + c.ffn_dim + n_tokens);
  return (double(c.n_layer) * per_layer + double(c.dim)) * eps * max_abs_logit;
}

}  // namespace fptq::model
