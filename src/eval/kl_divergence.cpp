#include "eval/kl_divergence.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace fptq::eval {

int32_t argmax(std::span<const float> logits) {
  FPTQ_CHECK(!logits.empty());
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;
  return int32_t(best);
}

double log_sum_exp(std::span<const float> logits) {
  FPTQ_CHECK(!logits.empty());
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, double(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - mx);
  return mx + std::log(sum);
}

void top_logits(std::span<const float> logits, int64_t k, std::vector<int32_t>& ids,
                std::vector<float>& values) {
  const size_t kk = size_t(std::clamp<int64_t>(k, 0, int64_t(logits.size())));
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + ptrdiff_t(kk), order.end(),
                    [&](int32_t a, int32_t b) {
                      const float la = logits[size_t(a)], lb = logits[size_t(b)];
                      return la != lb ? la > lb : a < b;
                    });
  ids.assign(order.begin(), order.begin() + ptrdiff_t(kk));
  values.resize(kk);
  for (size_t i = 0; i < kk; ++i) values[i] = logits[size_t(ids[i])];
}

double tail_mass(std::span<const float> base_logits, double base_lse) {
  double top = 0;
  for (float v : base_logits) top += std::exp(double(v) - base_lse);
  return std::max(0.0, 1.0 - top);
}

namespace {
// p log(p / q) with the conventions 0 log 0 = 0 and p > 0, q = 0 -> +inf.
double kl_term(double p, double logp, double logq) {
  return p > 0 ? p * (logp - logq) : 0.0;
}
}  // namespace

double kl_divergence_top_k(std::span<const int32_t> base_ids, std::span<const float> base_logits,
                           double base_lse, std::span<const float> logits) {
  FPTQ_CHECK(base_ids.size() == base_logits.size());
  const double lse = log_sum_exp(logits);
  double kl = 0, p_top = 0, q_top = 0;
  for (size_t i = 0; i < base_ids.size(); ++i) {
    const int32_t id = base_ids[i];
    if (id < 0 || size_t(id) >= logits.size())
      fail("KL: token id {} outside the vocabulary of {} tokens", id, logits.size());
    const double lp = double(base_logits[i]) - base_lse, lq = double(logits[size_t(id)]) - lse;
    const double p = std::exp(lp);
    p_top += p;
    q_top += std::exp(lq);
    kl += kl_term(p, lp, lq);
  }
  const double p_tail = std::max(0.0, 1.0 - p_top), q_tail = std::max(0.0, 1.0 - q_top);
  if (p_tail > 0) {
    // q_tail can round to 0 while p_tail does not: a (correctly) huge term.
    kl += q_tail > 0 ? p_tail * (std::log(p_tail) - std::log(q_tail))
                     : p_tail * (std::log(p_tail) + 745.0);  // log of the smallest double
  }
  return std::max(0.0, kl);
}

double kl_divergence_full(std::span<const float> p_logits, std::span<const float> q_logits) {
  FPTQ_CHECK(p_logits.size() == q_logits.size());
  const double lp = log_sum_exp(p_logits), lq = log_sum_exp(q_logits);
  double kl = 0;
  for (size_t i = 0; i < p_logits.size(); ++i) {
    const double a = double(p_logits[i]) - lp, b = double(q_logits[i]) - lq;
    kl += kl_term(std::exp(a), a, b);
  }
  return std::max(0.0, kl);
}

void KlAccumulator::add(double kl, bool top1_agrees, double base_tail_mass) {
  kl_.push_back(kl);
  agree_ += top1_agrees ? 1 : 0;
  tail_sum_ += base_tail_mass;
}

KlStats KlAccumulator::stats() const {
  KlStats s;
  s.n = count();
  if (s.n == 0) return s;
  const double n = double(s.n);
  double sum = 0, sum_sq = 0;
  for (double v : kl_) {
    sum += v;
    sum_sq += v * v;
  }
  s.mean = sum / n;
  const double var = std::max(0.0, sum_sq / n - s.mean * s.mean);
  s.mean_stderr = s.n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  std::vector<double> sorted = kl_;
  std::sort(sorted.begin(), sorted.end());
  auto rank = [&](double q) {
    const int64_t r = std::clamp<int64_t>(int64_t(std::ceil(q * n)), 1, s.n);
    return sorted[size_t(r - 1)];
  };
  s.median = rank(0.5);
  s.p99 = rank(0.99);
  s.max = sorted.back();
  s.top1 = double(agree_) / n;
  s.top1_stderr = s.n > 1 ? std::sqrt(s.top1 * (1 - s.top1) / (n - 1)) : 0.0;
  s.mean_tail_mass = tail_sum_ / n;
  return s;
}

}  // namespace fptq::eval
