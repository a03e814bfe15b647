#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fptq::eval {

double token_nll(std::span<const float> logits, int32_t target) {
  FPTQ_CHECK(target >= 0 && size_t(target) < logits.size());
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, double(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - mx);
  return -(double(logits[size_t(target)]) - mx - std::log(sum));
}

void NllAccumulator::add(double nll) {
  ++n_;
  sum_ += nll;
  sum_sq_ += nll * nll;
}

PerplexityStats NllAccumulator::stats() const {
  PerplexityStats s;
  s.n = n_;
  if (n_ == 0) return s;
  s.mean_nll = sum_ / double(n_);
  const double var = std::max(0.0, sum_sq_ / double(n_) - s.mean_nll * s.mean_nll);
  s.nll_stderr = n_ > 1 ? std::sqrt(var / double(n_ - 1)) : 0.0;
  s.ppl = std::exp(s.mean_nll);
  s.ppl_stderr = s.ppl * s.nll_stderr;
  return s;
}

}  // namespace fptq::eval
