// AWQ-style scale search (quant/awq.h): α = 0 is always a candidate, so the
// chosen scales never raise the diagonal output error; with a few dominant
// channels it finds scales that lower it; bad input is refused.
#include "quant/awq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"

namespace fptq::quant {
namespace {

TEST(Awq, NeverWorseAndBetterWithDominantChannels) {
  const int64_t k = 64, n = 48;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> w(size_t(n * k));
  for (float& v : w) v = nd(rng);
  std::vector<float> msq(size_t(k), 1.0f);
  for (int64_t j : {3, 17, 40}) msq[size_t(j)] = 400.0f;  // salient input channels
  const AwqConsumer c{w, n};
  const AwqResult r = awq_search({&c, 1}, k, msq, Int4Config{32, ScaleRule::Weighted}, 1);
  EXPECT_LE(r.error, r.error_unscaled);
  EXPECT_GT(r.alpha, 0.0f);
  EXPECT_LT(r.error, 0.95 * r.error_unscaled);
  EXPECT_GT(r.error, 0.1 * r.error_unscaled);  // one scale per channel cannot remove rounding
  ASSERT_EQ(r.scales.size(), size_t(k));
  EXPECT_GT(r.scales[3], r.scales[0]);  // salient channels scaled up
  // Uniform statistics: every s_j(α) = 1, so α = 0 stays.
  const AwqResult u = awq_search({&c, 1}, k, std::vector<float>(size_t(k), 2.0f),
                                 Int4Config{32, ScaleRule::Weighted}, 4);
  EXPECT_EQ(u.alpha, 0.0f);
  EXPECT_EQ(u.error, u.error_unscaled);
}

// The search's α = 0 error is the recipe quantizer's own weighted error, on
// either grid (it once multiplied IQ4_NL codes, not levels, by the scales).
TEST(Awq, UnscaledErrorIsTheQuantizersOwnOnEveryGrid) {
  const int64_t k = 64, n = 8;
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(n * k)), msq(static_cast<size_t>(k));
  for (float& v : w) v = nd(rng);
  for (float& v : msq) v = 0.5f + std::fabs(nd(rng));
  const AwqConsumer c{w, n};
  for (Int4Grid grid : {Int4Grid::Uniform, Int4Grid::Nl}) {
    SCOPED_TRACE(std::string(int4_grid_name(grid)));
    const Int4Config cfg{32, ScaleRule::Weighted, {}, grid};
    const AwqResult r = awq_search({&c, 1}, k, msq, cfg, 1);
    const Int4Weights q = quantize_int4(w, n, k, {32, ScaleRule::Weighted, msq, grid});
    const std::vector<float> d = dequantize_int4(q);
    double want = 0;
    for (size_t i = 0; i < w.size(); ++i)
      want += double(msq[i % size_t(k)]) * (double(d[i]) - w[i]) * (double(d[i]) - w[i]);
    EXPECT_NEAR(r.error_unscaled, want, 1e-9 * want);
    EXPECT_LE(r.error, r.error_unscaled);
  }
}

TEST(Awq, RejectsBadInput) {
  std::vector<float> w(64, 1.0f), msq(32, 1.0f);
  const AwqConsumer c{w, 2};
  EXPECT_THROW(awq_search({&c, 1}, 32, std::vector<float>(16, 1.0f), Int4Config{32}), Error);
  msq[1] = -1.0f;
  EXPECT_THROW(awq_search({&c, 1}, 32, msq, Int4Config{32}), Error);
  const AwqConsumer bad{w, 3};
  EXPECT_THROW(awq_search({&bad, 1}, 32, std::vector<float>(32, 1.0f), Int4Config{32}), Error);
  EXPECT_THROW(awq_search({&c, 1}, 32, std::vector<float>(32, 1.0f), Int4Config{32}, 0), Error);
}

}  // namespace
}  // namespace fptq::quant
