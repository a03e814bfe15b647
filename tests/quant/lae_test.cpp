// LAE and SmoothQuant scales, and folding them into norm + consumer weights.
#include "quant/lae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "quant/calib_stats.h"
#include "quant/fold.h"
#include "quant/smoothquant.h"

namespace fptq::quant {
namespace {

constexpr double kU = 0x1p-24;  // unit roundoff of float32 (eps / 2)

// Float32 RMSNorm then linear, the engine's order of operations.
// x: [t][k], norm: [k], w: [n][k] -> y: [t][n]; also returns Σ_j |a_j·w_j| per
// output ([t][n]) for the error bound, and the norm outputs a: [t][k].
struct NormLinear {
  std::vector<float> y, abs_sum, a;
};
NormLinear norm_linear(const std::vector<float>& x, const std::vector<float>& norm,
                       const std::vector<float>& w, int64_t t, int64_t k, int64_t n) {
  NormLinear r{std::vector<float>(size_t(t * n)), std::vector<float>(size_t(t * n)),
               std::vector<float>(size_t(t * k))};
  for (int64_t i = 0; i < t; ++i) {
    float ss = 0.0f;
    for (int64_t j = 0; j < k; ++j) ss += x[size_t(i * k + j)] * x[size_t(i * k + j)];
    const float inv = 1.0f / std::sqrt(ss / float(k) + 1e-6f);
    for (int64_t j = 0; j < k; ++j)
      r.a[size_t(i * k + j)] = x[size_t(i * k + j)] * inv * norm[size_t(j)];
    for (int64_t o = 0; o < n; ++o) {
      float acc = 0.0f, abs_acc = 0.0f;
      for (int64_t j = 0; j < k; ++j) {
        const float p = r.a[size_t(i * k + j)] * w[size_t(o * k + j)];
        acc += p;
        abs_acc += std::fabs(p);
      }
      r.y[size_t(i * n + o)] = acc;
      r.abs_sum[size_t(i * n + o)] = abs_acc;
    }
  }
  return r;
}

// Random layer: x N(0,1) [t][k]; norm weights in [0.5, 1.5] except a few
// "massive" channels whose norm weight is hundreds, so the norm output (the
// linear's input) reaches ~1000 there, as in LLaMA's attn/ffn inputs.
struct Layer {
  int64_t t = 64, k = 256, n = 48;
  std::vector<float> x, norm, w;
};
Layer make_layer(uint32_t seed) {
  Layer l;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.5f, 1.5f);
  l.x.resize(size_t(l.t * l.k));
  for (float& v : l.x) v = nd(rng);
  l.norm.resize(size_t(l.k));
  for (float& v : l.norm) v = ud(rng);
  l.norm[5] = 400.0f;
  l.norm[77] = -250.0f;
  l.norm[200] = 60.0f;
  l.w.resize(size_t(l.n * l.k));
  for (float& v : l.w) v = 0.05f * nd(rng);
  return l;
}

// Folding s into (norm, w) must leave y unchanged up to rounding. Per term,
// the folded product differs from the original by the rounding of g/s, of
// a·(g/s) and of w·s: 3 roundings plus the original's own 1, so <= 4u·|a·w|;
// each float dot product of k terms adds at most γ_k ≈ k·u·Σ|a·w|. Bound:
// |y' − y| <= (2k + 4)·u·Σ_j|a_j·w_j| (+ a slack factor 1.5 for the
// recursive-sum constant).
void expect_fold_preserves_output(const Layer& l, const std::vector<float>& s) {
  const auto before = norm_linear(l.x, l.norm, l.w, l.t, l.k, l.n);
  auto norm = l.norm;
  auto w = l.w;
  fold_into_norm(norm, s);
  fold_into_weight(w, s);
  const auto after = norm_linear(l.x, norm, w, l.t, l.k, l.n);
  const double tol_factor = 1.5 * (2.0 * double(l.k) + 4.0) * kU;
  double worst = 0.0;
  size_t worst_i = 0;
  for (size_t i = 0; i < before.y.size(); ++i) {
    const double err = std::fabs(double(after.y[i]) - double(before.y[i]));
    const double tol = tol_factor * double(before.abs_sum[i]);
    if (err / tol > worst) {
      worst = err / tol;
      worst_i = i;
    }
  }
  EXPECT_LE(worst, 1.0) << "worst output " << worst_i << ": expected " << before.y[worst_i]
                        << ", got " << after.y[worst_i];
}

TEST(Lae, ScaleKnownValues) {
  // s = m / log2(2 + m): m = 2 -> 1; m = 1022 -> 1022 / 10; m = 0 -> clamp.
  EXPECT_EQ(lae_scale(2.0f), 1.0f);
  EXPECT_FLOAT_EQ(lae_scale(1022.0f), 102.2f);
  EXPECT_EQ(lae_scale(0.0f), kLaeMinScale);
  EXPECT_THROW(lae_scales(std::vector<float>{1.0f, -1.0f}), Error);
  EXPECT_THROW(lae_scales(std::vector<float>{INFINITY}), Error);
}

TEST(Lae, FoldPreservesFunctionAndMapsMaximaToLog2) {
  const Layer l = make_layer(11);
  const auto before = norm_linear(l.x, l.norm, l.w, l.t, l.k, l.n);
  ChannelStats st(l.k);
  st.observe(before.a);
  ASSERT_GT(st.bound(), 500.0f);  // the layer really has massive channels
  ASSERT_LT(st.bound(), 1500.0f);
  const auto s = lae_scales(st.max_abs());
  expect_fold_preserves_output(l, s);

  // m'_j = m_j / s_j = log2(2 + m_j): s_j and the quotient are each rounded
  // once (s is computed in double, rounded once), so within 2u relative.
  const auto m2 = divide_channels(st.max_abs(), s);
  for (int64_t j = 0; j < l.k; ++j) {
    const double m = st.max_abs()[size_t(j)];
    const double want = std::log2(2.0 + m);
    EXPECT_NEAR(m2[size_t(j)], want, 2.5 * kU * want) << "channel " << j;
  }
  // Re-measuring the folded model's norm outputs gives the same maxima: the
  // folded norm output is a·(g/s)/g ≈ a/s, 3 roundings away.
  auto norm = l.norm;
  fold_into_norm(norm, s);
  const auto after = norm_linear(l.x, norm, l.w, l.t, l.k, l.n);
  ChannelStats st2(l.k);
  st2.observe(after.a);
  for (int64_t j = 0; j < l.k; ++j)
    EXPECT_NEAR(st2.max_abs()[size_t(j)], m2[size_t(j)], 4 * kU * m2[size_t(j)]) << j;
  EXPECT_LT(st2.bound(), 11.0f);  // log2(2 + ~1000) ≈ 10: now in the static band
}

TEST(Fold, RejectsBadScalesAndShapes) {
  std::vector<float> norm(4, 1.0f), w(8, 1.0f);
  EXPECT_THROW(fold_into_norm(norm, std::vector<float>(3, 1.0f)), Error);
  EXPECT_THROW(fold_into_norm(norm, std::vector<float>{1, 0, 1, 1}), Error);
  EXPECT_THROW(fold_into_weight(w, std::vector<float>(3, 1.0f)), Error);
  EXPECT_THROW(fold_into_weight(w, std::vector<float>{1, 1, NAN, 1}), Error);
  std::vector<float> w2 = {1, 2, 3, 4, 5, 6};  // [2][3]
  fold_into_weight(w2, std::vector<float>{2, 1, 0.5f});
  EXPECT_EQ(w2, (std::vector<float>{2, 2, 1.5f, 8, 5, 3}));
}

TEST(SmoothQuant, KnownValuesAndGuards) {
  const std::vector<float> m = {4, 0, 9, 1}, wmax = {1, 2, 0, 4};
  EXPECT_EQ(smoothquant_scales(m, wmax), (std::vector<float>{2, 1, 1, 0.5f}));
  EXPECT_EQ(smoothquant_scales(m, wmax, 1.0f), (std::vector<float>{4, 1, 1, 1}));
  EXPECT_EQ(smoothquant_scales(m, wmax, 0.0f), (std::vector<float>{1, 1, 1, 0.25f}));
  EXPECT_THROW(smoothquant_scales(m, wmax, 1.5f), Error);
  EXPECT_THROW(smoothquant_scales(m, std::vector<float>(3, 1.0f)), Error);
  const std::vector<float> w = {1, -3, 0.5f, -2, 1, 0};  // [2][3]
  EXPECT_EQ(weight_column_max(w, 3), (std::vector<float>{2, 3, 0.5f}));
  EXPECT_THROW(weight_column_max(w, 4), Error);
}

TEST(SmoothQuant, BalancesActivationAndWeightMaxima) {
  // α = 0.5: after folding, max|X'[:, j]| = m_j / s_j and max|W'[:, j]| =
  // w_j·s_j both equal sqrt(m_j·w_j) (to a few roundings), and y is unchanged.
  const Layer l = make_layer(12);
  const auto before = norm_linear(l.x, l.norm, l.w, l.t, l.k, l.n);
  ChannelStats st(l.k);
  st.observe(before.a);
  const auto wmax = weight_column_max(l.w, size_t(l.k));
  const auto s = smoothquant_scales(st.max_abs(), wmax);
  expect_fold_preserves_output(l, s);
  auto w = l.w;
  fold_into_weight(w, s);
  const auto wmax2 = weight_column_max(w, size_t(l.k));
  const auto m2 = divide_channels(st.max_abs(), s);
  for (int64_t j = 0; j < l.k; ++j) {
    const double geo = std::sqrt(double(st.max_abs()[size_t(j)]) * wmax[size_t(j)]);
    EXPECT_NEAR(m2[size_t(j)], geo, 4 * kU * geo) << j;
    EXPECT_NEAR(wmax2[size_t(j)], geo, 4 * kU * geo) << j;
  }
}

}  // namespace
}  // namespace fptq::quant
