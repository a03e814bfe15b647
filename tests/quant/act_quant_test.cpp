#include "quant/act_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"

namespace fptq::quant {
namespace {

TEST(ActQuant, StaticKnownValues) {
  // Δ = 127 / 127 = 1: plain rounding, half to even, saturation at ±127.
  const float d = static_act_scale(127.0f);
  EXPECT_EQ(d, 1.0f);
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 126.6f, 200.0f, -1e9f,
                                INFINITY, -INFINITY, NAN, 0.49f};
  const std::vector<int8_t> want = {0, 2, 2, 0, -2, 127, 127, -127, 127, -127, 0, 0};
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

}  // namespace
}  // namespace fptq::quant
