// KL divergence and top-1 agreement of a model's next-token distributions
// against a reference ("base") model's, position by position.
//
// The base distribution P is kept compactly as its top-K logits (ids and
// values, sorted by decreasing p, ties by increasing id) and its log-sum-exp
// in double, so that log p_i = logit_i − lse is exact to double rounding and
// the tail mass 1 − Σ_top p is not drowned in float rounding. The KL is
// then computed over K + 1 outcomes: the K recorded tokens and one "tail"
// bucket holding the rest of the vocabulary, with P's tail mass
// 1 − Σ_top p and Q's tail mass 1 − Σ_top q over the same ids:
//   KL_K(P‖Q) = Σ_{i∈top} p_i (log p_i − log q_i) + p_tail (log p_tail − log q_tail).
// Merging outcomes never increases a KL (log-sum inequality), so KL_K is a
// lower bound on the full-vocabulary KL(P‖Q), equal to it when the tail is
// empty (K = n_vocab) and off by at most what P's tail mass hides; the mean
// tail mass is reported alongside. Everything is computed in double.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fptq::eval {

// Index of the largest logit; the lowest index among equal maxima (so that
// ties resolve the same way for both models). logits must not be empty.
int32_t argmax(std::span<const float> logits);

// log Σ exp(logits), in double, max-shifted.
double log_sum_exp(std::span<const float> logits);

// The K largest logits: ids[k], values[k] for k < min(K, n), by decreasing
// value, ties by increasing id (vectors resized).
void top_logits(std::span<const float> logits, int64_t k, std::vector<int32_t>& ids,
                std::vector<float>& values);

// KL_K(P‖Q) as above: P given by its top-K (ids, logits) and log-sum-exp,
// Q by its logits [n_vocab]. Never negative (rounding below 0 is clamped to
// 0). Throws fptq::Error when an id is outside the logits.
double kl_divergence_top_k(std::span<const int32_t> base_ids, std::span<const float> base_logits,
                           double base_lse, std::span<const float> logits);

// P's mass outside its top-K: max(0, 1 − Σ exp(logit_i − lse)).
double tail_mass(std::span<const float> base_logits, double base_lse);

// Exact full-vocabulary KL(P‖Q) of softmax(p_logits) and softmax(q_logits)
// (same length), in double: for tests and small vocabularies.
double kl_divergence_full(std::span<const float> p_logits, std::span<const float> q_logits);

// Aggregate of per-position KL values and top-1 agreement.
struct KlStats {
  int64_t n = 0;               // positions
  double mean = 0;             // mean KL (nats)
  double mean_stderr = 0;      // sqrt(var / (n − 1)), 0 when n < 2
  double median = 0, p99 = 0, max = 0;  // order statistics (nearest rank)
  double top1 = 0;             // fraction of positions whose argmax agrees
  double top1_stderr = 0;      // sqrt(top1 (1 − top1) / (n − 1)), 0 when n < 2
  double mean_tail_mass = 0;   // mean P mass outside the recorded top-K
};

// Collects per-position values in order; stats() sorts a copy for the order
// statistics (nearest rank: the ⌈q·n⌉-th smallest).
class KlAccumulator {
 public:
  void add(double kl, bool top1_agrees, double base_tail_mass = 0);
  int64_t count() const { return int64_t(kl_.size()); }
  KlStats stats() const;

 private:
  std::vector<double> kl_;
  int64_t agree_ = 0;
  double tail_sum_ = 0;
};

}  // namespace fptq::eval
