// The IQ4_NL grid of the int4 quantizer (Int4Grid::Nl): nearest-level codes,
// the weighted search never worse than the grid's plain rule on its own
// objective (and strictly better in total), IQ4_NL blocks that ggml's
// dequantization (io/dequant) reads back to exactly our ŵ, and on Gaussian
// weights a lower error than the uniform grid at the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "io/dequant.h"
#include "io/ggml_blocks.h"
#include "quant/weight_int4.h"

namespace fptq::quant {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(n);
  for (float& v : w) v = nd(rng);
  return w;
}

TEST(Int4Nl, CodeIsTheNearestLevel) {
  const float d = 0.01f;
  for (int i = -20000; i <= 20000; ++i) {
    const float w = float(i) * 1e-5f * 13.0f;
    const int8_t q = int4_grid_code(w, d, Int4Grid::Nl);
    ASSERT_GE(q, -8);
    ASSERT_LE(q, 7);
    const float err = std::fabs(float(int4_level(q, Int4Grid::Nl)) * d - w);
    for (int c = -8; c <= 7; ++c)
      ASSERT_LE(err, std::fabs(float(int4_level(c, Int4Grid::Nl)) * d - w) + 1e-9f)
          << "w=" << w << " code " << int(q) << " vs " << c;
  }
  // Negative scale: the levels mirror; d == 0 gives level 1 · 0.
  EXPECT_EQ(int4_level(int4_grid_code(0.0127f, -0.0001f, Int4Grid::Nl), Int4Grid::Nl), -127);
  EXPECT_EQ(int4_grid_code(1.0f, 0.0f, Int4Grid::Nl), 0);
  EXPECT_EQ(int4_grid_name(Int4Grid::Nl), "nl");
}

TEST(Int4Nl, WeightedNeverWorseThanPlainRuleAndBetterInTotal) {
  std::mt19937 rng(5);
  std::lognormal_distribution<float> ln(0.0f, 1.5f);
  const int64_t g = 32, groups = 1500;
  const std::vector<float> w = gaussian(size_t(g * groups), 7);
  std::vector<float> a(static_cast<size_t>(g));
  double plain = 0, weighted = 0;
  for (int64_t b = 0; b < groups; ++b) {
    for (float& v : a) v = ln(rng);
    const std::span<const float> grp(w.data() + b * g, size_t(g));
    const double e0 = int4_weighted_error(
        grp, a, int4_group_scale(grp, ScaleRule::Q4_0, {}, Int4Grid::Nl), Int4Grid::Nl);
    const double e1 = int4_weighted_error(
        grp, a, int4_group_scale(grp, ScaleRule::Weighted, a, Int4Grid::Nl), Int4Grid::Nl);
    ASSERT_LE(e1, e0) << "group " << b;
    plain += e0;
    weighted += e1;
  }
  EXPECT_LT(weighted, 0.9 * plain);
  EXPECT_GT(weighted, 0.3 * plain);
}

TEST(Int4Nl, BeatsTheUniformGridOnGaussianWeights) {
  // Bell-shaped weights (what the grid is for): the unweighted squared error
  // of the weighted search on the NL grid is below the uniform grid's, and
  // not by an implausible factor (both are 16 levels and one scale).
  const int64_t n = 64, k = 512;
  const std::vector<float> w = gaussian(size_t(n * k), 9);
  double err[2] = {0, 0};
  for (Int4Grid grid : {Int4Grid::Uniform, Int4Grid::Nl}) {
    const Int4Weights q = quantize_int4(w, n, k, {32, ScaleRule::Weighted, {}, grid});
    EXPECT_EQ(q.grid, grid);
    const std::vector<float> d = dequantize_int4(q);
    for (size_t i = 0; i < w.size(); ++i) err[int(grid)] += double(d[i] - w[i]) * (d[i] - w[i]);
  }
  EXPECT_LT(err[1], 0.95 * err[0]);
  EXPECT_GT(err[1], 0.5 * err[0]);
}

TEST(Int4Nl, Iq4NlBlocksDequantizeExactlyThroughIo) {
  const int64_t n = 5, k = 256;
  std::vector<float> w = gaussian(size_t(n * k), 11);
  for (int j = 0; j < 32; ++j) w[size_t(k + j)] = 0.0f;  // a zero group
  for (ScaleRule r : {ScaleRule::Q4_0, ScaleRule::Weighted})
    for (int64_t g : {32, 128, 0}) {
      const Int4Weights q = quantize_int4(w, n, k, {g, r, {}, Int4Grid::Nl});
      const auto blocks = pack_q4_0(q);
      std::vector<float> via_io(size_t(n * k));
      io::dequantize(io::GgmlType::IQ4_NL, blocks.data(), via_io.data(), n * k);
      const std::vector<float> ours = dequantize_int4(q);
      for (size_t i = 0; i < ours.size(); ++i)
        ASSERT_EQ(via_io[i], ours[i]) << scale_rule_name(r) << " g=" << g << " at " << i;
      const Int4Weights back = unpack_iq4_nl(blocks, n, k, q.group);
      EXPECT_EQ(back.grid, Int4Grid::Nl);
      EXPECT_EQ(back.codes, q.codes);
      EXPECT_EQ(back.scales, q.scales);
    }
}

TEST(Int4Nl, UniformOnlyRulesRefuseTheGrid) {
  const std::vector<float> w = gaussian(32, 13);
  EXPECT_THROW(int4_group_scale(w, ScaleRule::Search, {}, Int4Grid::Nl), Error);
  EXPECT_THROW(int4_group_scale(w, ScaleRule::Absmax7, {}, Int4Grid::Nl), Error);
}

}  // namespace
}  // namespace fptq::quant
