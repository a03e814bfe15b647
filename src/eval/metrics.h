// Quality metrics shared by tests, reports and the CLI.
#pragma once

#include <cstdint>
#include <span>

namespace fptq::eval {

// Negative log-likelihood of `target` under softmax(logits), computed as a
// log-softmax in double: -(logits[target] - max - log Σ exp(logits - max)).
double token_nll(std::span<const float> logits, int32_t target);

// Perplexity of a set of scored predictions.
struct PerplexityStats {
  int64_t n = 0;           // predictions scored
  double mean_nll = 0;     // mean negative log-likelihood (nats)
  double nll_stderr = 0;   // standard error of mean_nll: sqrt(var / (n - 1)), 0 when n < 2
  double ppl = 0;          // exp(mean_nll)
  double ppl_stderr = 0;   // ppl · nll_stderr (first-order propagation, as llama.cpp reports)
};

// Accumulates NLLs (sum and sum of squares in double) in order.
class NllAccumulator {
 public:
  void add(double nll);
  int64_t count() const { return n_; }
  PerplexityStats stats() const;

 private:
  int64_t n_ = 0;
  double sum_ = 0, sum_sq_ = 0;
};

}  // namespace fptq::eval
