// NLL by log-softmax in double, and PPL ± stderr from accumulated NLLs.
#include <cmath>
#include <vector>

#include "eval/metrics.h"
#include "testing/testing.h"

namespace fptq::eval {
namespace {

TEST(TokenNll, UniformLogitsGiveLogVocab) {
  const std::vector<float> logits(512, 0.25f);
  EXPECT_NEAR(token_nll(logits, 17), std::log(512.0), 1e-12);
}

TEST(TokenNll, ShiftInvariantAndStableForLargeLogits) {
  const std::vector<float> a = {1.0f, 2.0f, 3.0f};
  const std::vector<float> b = {1001.0f, 1002.0f, 1003.0f};
  const double expected = -(3.0 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  EXPECT_NEAR(token_nll(a, 2), expected, 1e-12);
  EXPECT_NEAR(token_nll(b, 2), expected, 1e-12);
  const std::vector<float> c = {-1e30f, 0.0f};
  EXPECT_NEAR(token_nll(c, 1), 0.0, 1e-12);
}

TEST(NllAccumulator, MeanStderrAndPerplexity) {
  NllAccumulator acc;
  const std::vector<double> nll = {1.0, 2.0, 3.0, 4.0};
  for (double v : nll) acc.add(v);
  const PerplexityStats s = acc.stats();
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.mean_nll, 2.5);
  // population variance 1.25; stderr = sqrt(1.25 / 3)
  EXPECT_NEAR(s.nll_stderr, std::sqrt(1.25 / 3.0), 1e-15);
  EXPECT_NEAR(s.ppl, std::exp(2.5), 1e-12);
  EXPECT_NEAR(s.ppl_stderr, std::exp(2.5) * std::sqrt(1.25 / 3.0), 1e-12);
}

TEST(NllAccumulator, EmptyAndSingle) {
  NllAccumulator acc;
  EXPECT_EQ(acc.stats().n, 0);
  acc.add(0.5);
  EXPECT_EQ(acc.stats().nll_stderr, 0.0);
  EXPECT_NEAR(acc.stats().ppl, std::exp(0.5), 1e-15);
}

}  // namespace
}  // namespace fptq::eval
