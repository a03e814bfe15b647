#include "quant/act_quant.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <string>
#include <random>

#include "core/error.h"

namespace fptq::quant {
namespace {

TEST(ActQuant, StaticKnownValues) {
  // Δ = 127 / 127 = 1: plain rounding, half to even, saturation at ±127.
  const float d = static_act_scale(127.0f);
  EXPECT_EQ(d, 1.0f);
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 126.6f, 200.0f, -1e9f,
                                FLT_MAX, -FLT_MAX, 0.49f};
  const std::vector<int8_t> want = {0, 2, 2, 0, -2, 127, 127, -127, 127, -127, 0};
  std::vector<int8_t> q(x.size());
  quantize_static(x, d, q);
  EXPECT_EQ(q, want);
  auto fx = x;
  fake_quant_static(fx, d);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(fx[i], float(want[i])) << i;
  EXPECT_EQ(static_act_scale(0.0f), kActScaleFloor);
  EXPECT_THROW(static_act_scale(-1.0f), Error);
  EXPECT_THROW(quantize_static(x, 0.0f, q), Error);
  EXPECT_THROW(quantize_static(x, 1.0f, std::span<int8_t>(q).first(3)), Error);
}

TEST(ActQuant, DynamicPerTokenScalesAndZeroRow) {
  // x: [3][4]; row 1 is all zero (floor scale, codes 0).
  const std::vector<float> x = {1.0f, -2.54f, 0.0f, 0.01f,  //
                                0.0f, 0.0f, 0.0f, 0.0f,     //
                                -100.0f, 50.0f, 25.0f, 0.3f};
  std::vector<int8_t> q(x.size());
  std::vector<float> sc(3);
  quantize_dynamic(x, 4, q, sc);
  EXPECT_EQ(sc[0], 2.54f / 127.0f);
  EXPECT_EQ(sc[1], kActScaleFloor);
  EXPECT_EQ(sc[2], 100.0f / 127.0f);
  // The row maximum always maps to ±127.
  EXPECT_EQ(q[1], -127);
  EXPECT_EQ(q[8], -127);
  EXPECT_EQ(q[9], int8_t(std::nearbyint(50.0f / sc[2])));  // ≈ 63.5: same division as the quantizer
  for (int j = 4; j < 8; ++j) EXPECT_EQ(q[size_t(j)], 0);
  auto fx = x;
  fake_quant_dynamic(fx, 4);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(fx[i], float(q[i]) * sc[i / 4]) << i;
  EXPECT_THROW(quantize_dynamic(x, 5, q, sc), Error);
  EXPECT_THROW(quantize_dynamic(x, 4, q, std::span<float>(sc).first(2)), Error);
}

TEST(ActQuant, EdgeSizes) {
  // No tokens; one channel; a single value per row maps to ±127 exactly.
  std::vector<int8_t> q;
  std::vector<float> sc;
  quantize_dynamic(std::vector<float>{}, 8, q, sc);
  const std::vector<float> x = {-3.0f, 0.25f, 0.0f};  // [3][1]
  q.resize(3);
  sc.resize(3);
  quantize_dynamic(x, 1, q, sc);
  EXPECT_EQ(q, (std::vector<int8_t>{-127, 127, 0}));
  EXPECT_EQ(sc[2], kActScaleFloor);
}

TEST(ActQuant, ErrorWithinHalfStepAndNotZero) {
  // Fake-quant error of an in-range value is at most Δ/2 (+1 rounding of q·Δ);
  // for uniform data the MSE is Δ²/12 — assert it within ±10% (200k samples
  // put the sampling error near 0.5%), so a quantizer that stopped rounding
  // (MSE ≈ 0) fails as surely as a broken one.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> ud(-10.0f, 10.0f);
  std::vector<float> x(200000);
  for (float& v : x) v = ud(rng);
  const float d = static_act_scale(10.0f);
  auto fx = x;
  fake_quant_static(fx, d);
  double mse = 0.0, worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = double(fx[i]) - double(x[i]);
    mse += e * e;
    worst = std::max(worst, std::fabs(e));
  }
  mse /= double(x.size());
  const double want = double(d) * d / 12.0;
  EXPECT_LE(worst, 0.5 * d * (1 + 1e-6) + 10.0 * 0x1p-24);
  EXPECT_GT(mse, 0.9 * want);
  EXPECT_LT(mse, 1.1 * want);
}

// The message of the fptq::Error that f throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ActQuant, NonFiniteInputIsRejectedNamingThePosition) {
  // Every quantizer, static and dynamic, code and fake-quant forms: NaN, +Inf
  // and -Inf anywhere (first, middle, last) are an error naming the element,
  // never a silent 0 or ±127 that hides an overflowing model.
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    for (size_t at : {size_t(0), size_t(5), size_t(11)}) {
      std::vector<float> x = {0.5f, -1.0f, 2.0f, 3.0f, -4.0f, 0.25f,
                              1.0f, 1.0f,  0.0f, 0.0f, 7.0f,  -7.0f};  // [3][4]
      x[at] = bad;
      const auto before = x;
      std::vector<int8_t> q(x.size(), 42);
      std::vector<float> sc(3, -1.0f);
      const std::string token = "token " + std::to_string(at / 4) + ", channel " +
                                std::to_string(at % 4);
      std::string m = error_of([&] { quantize_static(x, 0.1f, q); });
      EXPECT_NE(m.find("quantize_static: activation " + std::to_string(at)), std::string::npos)
          << m;
      EXPECT_NE(m.find("non-finite"), std::string::npos) << m;
      auto fx = x;
      m = error_of([&] { fake_quant_static(fx, 0.1f); });
      EXPECT_NE(m.find("fake_quant_static: activation " + std::to_string(at)), std::string::npos)
          << m;
      m = error_of([&] { quantize_dynamic(x, 4, q, sc); });
      EXPECT_NE(m.find("quantize_dynamic: activation [" + token + "]"), std::string::npos) << m;
      m = error_of([&] { fake_quant_dynamic(fx, 4); });
      EXPECT_NE(m.find("fake_quant_dynamic: activation [" + token + "]"), std::string::npos) << m;
      m = error_of([&] { (void)dynamic_act_scale(std::span<const float>(x).subspan(at / 4 * 4, 4)); });
      EXPECT_NE(m.find("non-finite"), std::string::npos) << m;
      // Nothing was written before the check.
      EXPECT_EQ(q, std::vector<int8_t>(x.size(), 42));
      EXPECT_EQ(sc, std::vector<float>(3, -1.0f));
      for (size_t i = 0; i < x.size(); ++i)
        if (i != at) EXPECT_EQ(fx[i], before[i]);
    }
  }
  EXPECT_THROW(static_act_scale(NAN), Error);
  EXPECT_THROW(static_act_scale(INFINITY), Error);
}

TEST(ActQuant, SingleHugeOutlier) {
  // One channel at 1e4 among values of ±1: per-tensor static with the
  // outlier's bound and per-token dynamic both keep the outlier to within
  // Δ/2 and flush the small values to 0 (|x| = 1 < Δ/2 = 1e4/254); the
  // dynamic quantizer only does so in the outlier's row.
  const int64_t k = 64;
  std::vector<float> x(size_t(2 * k));
  for (int64_t i = 0; i < 2 * k; ++i) x[size_t(i)] = (i % 2) ? 1.0f : -1.0f;
  x[7] = 1e4f;
  auto st = x;
  fake_quant_static(st, static_act_scale(1e4f));
  auto dy = x;
  fake_quant_dynamic(dy, k);
  EXPECT_EQ(st[7], 1e4f);
  EXPECT_EQ(dy[7], 1e4f);
  for (int64_t i = 0; i < 2 * k; ++i) {
    if (i == 7) continue;
    EXPECT_EQ(st[size_t(i)], 0.0f) << i;
    // Row 0 (outlier row): flushed; row 1: Δ = 1/127, exact ±1.
    EXPECT_EQ(dy[size_t(i)], i < k ? 0.0f : x[size_t(i)]) << i;
  }
}

TEST(ActQuant, DynamicRoundTripErrorTwoSided) {
  // Per token Δ_t = max|x_t|/127; for uniform rows the error of every value is
  // at most Δ_t/2 and the mean squared error per row is Δ_t²/12 ± 10%
  // (4096 values per row, 64 rows), so neither a quantizer that stopped
  // rounding nor one with the wrong step passes.
  std::mt19937 rng(6);
  const int64_t k = 4096, t = 64;
  std::vector<float> x(size_t(k * t));
  for (int64_t r = 0; r < t; ++r) {
    std::uniform_real_distribution<float> ud(-float(r + 1), float(r + 1));
    for (int64_t j = 0; j < k; ++j) x[size_t(r * k + j)] = ud(rng);
  }
  auto fx = x;
  fake_quant_dynamic(fx, k);
  double ratio_sum = 0.0;
  for (int64_t r = 0; r < t; ++r) {
    const auto row = std::span<const float>(x).subspan(size_t(r * k), size_t(k));
    const double d = dynamic_act_scale(row);
    double mse = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double e = double(fx[size_t(r * k + j)]) - double(x[size_t(r * k + j)]);
      EXPECT_LE(std::fabs(e), 0.5 * d * (1 + 1e-6) + 1e-6 * d) << r << "," << j;
      mse += e * e;
    }
    mse /= double(k);
    ratio_sum += mse / (d * d / 12.0);
    EXPECT_GT(mse, 0.85 * d * d / 12.0) << "row " << r;
    EXPECT_LT(mse, 1.15 * d * d / 12.0) << "row " << r;
  }
  EXPECT_NEAR(ratio_sum / double(t), 1.0, 0.03);
}

}  // namespace
}  // namespace fptq::quant
