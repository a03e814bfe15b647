// Token choice: greedy, and seeded temperature / top-k / top-p sampling.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "model/sampling.h"
#include "testing/testing.h"

namespace fptq::model {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};

TEST(Sampling, GreedyIsArgmaxLowestIndexOnTies) {
  EXPECT_EQ(argmax(kLogits), 1);
  Sampler s({});
  EXPECT_EQ(s.sample(kLogits), 1);
}

TEST(Sampling, TopKOneAndTinyTopPAreGreedy) {
  Sampler k1({.temperature = 1.5f, .top_k = 1, .top_p = 1.0f, .seed = 7});
  Sampler p0({.temperature = 1.5f, .top_k = 0, .top_p = 1e-6f, .seed = 7});
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(k1.sample(kLogits), 1);
    EXPECT_EQ(p0.sample(kLogits), 1);
  }
}

TEST(Sampling, SameSeedSameTokens) {
  const SamplingParams p{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 1234};
  Sampler a(p), b(p);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(kLogits));
    tb.push_back(b.sample(kLogits));
  }
  EXPECT_EQ(ta, tb);
}

// With temperature 1 and no truncation, frequencies follow softmax(logits):
// each count lies within 5 binomial standard deviations of N·p (the seed is
// fixed, so this is deterministic; 5σ leaves a wide margin).
TEST(Sampling, FrequenciesFollowSoftmax) {
  constexpr int kN = 20000;
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 99});
  std::vector<int> counts(kLogits.size(), 0);
  for (int i = 0; i < kN; ++i) ++counts[size_t(s.sample(kLogits))];
  double z = 0;
  for (float l : kLogits) z += std::exp(double(l));
  for (size_t i = 0; i < kLogits.size(); ++i) {
    const double p = std::exp(double(kLogits[i])) / z;
    const double sigma = std::sqrt(kN * p * (1 - p));
    EXPECT_NEAR(counts[i], kN * p, 5 * sigma) << "token " << i;
  }
}

// top-k = 3 keeps tokens 1, 3 (logit 3) and 2 (logit 2) only.
TEST(Sampling, TopKRestrictsCandidates) {
  Sampler s({.temperature = 1.0f, .top_k = 3, .top_p = 1.0f, .seed = 5});
  for (int i = 0; i < 500; ++i) {
    const int32_t t = s.sample(kLogits);
    EXPECT_TRUE(t == 1 || t == 2 || t == 3) << t;
  }
}

TEST(Sampling, RejectsBadTopP) {
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 0, .top_p = 0.0f, .seed = 1}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 0, .top_p = 1.5f, .seed = 1}), Error);
}

}  // namespace
}  // namespace fptq::model
