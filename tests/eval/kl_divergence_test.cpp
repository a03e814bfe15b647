// KL divergence, top-1 and their aggregation on known distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "eval/kl_divergence.h"

namespace fptq::eval {
namespace {

// Logits given as float(log p): each carries a relative rounding error of
// 2^-24 on |log p| <= ln 4, so the KL of these 3-outcome distributions is
// within a few 1e-7 of the hand value; 1e-6 is that bound with margin.
constexpr double kHandTol = 1e-6;

std::vector<float> log_of(std::vector<double> p) {
  std::vector<float> l;
  for (double v : p) l.push_back(float(std::log(v)));
  return l;
}

TEST(KlDivergence, IdenticalIsExactlyZero) {
  const std::vector<float> l = {0.3f, -1.25f, 2.5f, 0.0f, -7.0f};
  EXPECT_EQ(kl_divergence_full(l, l), 0.0);
  std::vector<int32_t> ids;
  std::vector<float> top;
  top_logits(l, int64_t(l.size()), ids, top);
  // The same logits and log-sum-exp: every term is exactly 0; the tail
  // bucket holds 1 − Σp, double rounding (~n·2^-53), on both sides.
  EXPECT_LT(kl_divergence_top_k(ids, top, log_sum_exp(l), l), 1e-14);
}

TEST(KlDivergence, HandComputedThreeOutcomes) {
  // P = (1/2, 1/4, 1/4), Q = (1/4, 1/2, 1/4):
  // KL = 1/2 ln 2 + 1/4 ln(1/2) = ln(2)/4.
  const auto p = log_of({0.5, 0.25, 0.25}), q = log_of({0.25, 0.5, 0.25});
  EXPECT_NEAR(kl_divergence_full(p, q), std::log(2.0) / 4, kHandTol);
  // Shifted logits are the same distribution.
  std::vector<float> q_shift = q;
  for (float& v : q_shift) v += 3.0f;
  EXPECT_NEAR(kl_divergence_full(p, q_shift), std::log(2.0) / 4, kHandTol);
  // Full top-K equals the full KL.
  std::vector<int32_t> ids;
  std::vector<float> top;
  const double lse = log_sum_exp(p);
  top_logits(p, 3, ids, top);
  EXPECT_NEAR(kl_divergence_top_k(ids, top, lse, q), std::log(2.0) / 4, kHandTol);
  EXPECT_LT(tail_mass(top, lse), 1e-15);
  // K = 1: outcomes {token 0, tail}: P (1/2, 1/2), Q (1/4, 3/4):
  // 1/2 ln 2 + 1/2 ln(2/3) = ln(4/3)/2, below the full KL (a lower bound).
  top_logits(p, 1, ids, top);
  ASSERT_EQ(ids, std::vector<int32_t>{0});
  EXPECT_NEAR(tail_mass(top, lse), 0.5, kHandTol);
  const double k1 = kl_divergence_top_k(ids, top, lse, q);
  EXPECT_NEAR(k1, std::log(4.0 / 3.0) / 2, kHandTol);
  EXPECT_LT(k1, std::log(2.0) / 4);
}

TEST(KlDivergence, AsymmetricAndNonNegative) {
  const auto p = log_of({0.9, 0.05, 0.05}), q = log_of({1.0 / 3, 1.0 / 3, 1.0 / 3});
  const double pq = 0.9 * std::log(0.9 * 3) + 0.1 * std::log(0.05 * 3);
  const double qp = (std::log((1.0 / 3) / 0.9) + 2 * std::log((1.0 / 3) / 0.05)) / 3;
  EXPECT_NEAR(kl_divergence_full(p, q), pq, kHandTol);
  EXPECT_NEAR(kl_divergence_full(q, p), qp, kHandTol);
}

TEST(KlDivergence, TopKOrderAndTies) {
  const std::vector<float> l = {1.0f, 3.0f, 3.0f, 0.0f, 3.0f};
  std::vector<int32_t> ids;
  std::vector<float> top;
  top_logits(l, 4, ids, top);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 4, 0}));
  EXPECT_EQ(top, (std::vector<float>{3.0f, 3.0f, 3.0f, 1.0f}));
  top_logits(l, 99, ids, top);  // clamped to the vocabulary
  EXPECT_EQ(ids.size(), 5u);
  // argmax: the lowest index among equal maxima, the same rule as top_log_probs.
  EXPECT_EQ(argmax(l), 1);
  EXPECT_EQ(argmax(std::vector<float>{2.0f, 2.0f}), 0);
  EXPECT_EQ(argmax(std::vector<float>{-1.0f}), 0);
}

TEST(KlDivergence, RejectsIdsOutsideTheVocabulary) {
  const std::vector<float> q = {0.0f, 0.0f};
  const std::vector<int32_t> ids = {2};
  const std::vector<float> top = {0.0f};
  EXPECT_THROW(kl_divergence_top_k(ids, top, 0.7, q), Error);
}

TEST(KlAccumulator, OrderStatisticsAndTop1) {
  KlAccumulator acc;
  for (int i = 100; i >= 1; --i) acc.add(double(i), i % 4 != 0, 0.01);  // 75 of 100 agree
  const KlStats s = acc.stats();
  EXPECT_EQ(s.n, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_EQ(s.median, 50.0);  // nearest rank: the 50th smallest
  EXPECT_EQ(s.p99, 99.0);
  EXPECT_EQ(s.max, 100.0);
  EXPECT_DOUBLE_EQ(s.top1, 0.75);
  EXPECT_NEAR(s.top1_stderr, std::sqrt(0.75 * 0.25 / 99), 1e-15);
  // population variance of 1..100 is 833.25; stderr = sqrt(var / (n - 1)), as for NLLs
  EXPECT_NEAR(s.mean_stderr, std::sqrt(833.25 / 99), 1e-12);
  EXPECT_NEAR(s.mean_tail_mass, 0.01, 1e-15);
  EXPECT_EQ(KlAccumulator().stats().n, 0);
}

}  // namespace
}  // namespace fptq::eval
