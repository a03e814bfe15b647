// The statistics behind the report on inputs whose answers are known by hand.
#include "report/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "quant/calib_stats.h"
#include "quant/metrics.h"

namespace fptq::report {
namespace {

TEST(LinearHistogram, CountsKnownValues) {
  // Bins of width 0.5 over [-1, 1]: [-1,-.5) [-.5,0) [0,.5) [.5,1].
  const std::vector<float> v = {-1.0f, -0.75f, -0.5f, -0.25f, 0.0f, 0.25f, 0.49f, 0.5f, 1.0f,
                                1.5f, -2.0f, std::numeric_limits<float>::quiet_NaN()};
  const LinearHistogram h = linear_histogram(v, -1.0, 1.0, 4);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 2, 3, 2}));
  EXPECT_EQ(h.outside, 3u);  // 1.5, -2, NaN
  EXPECT_EQ(h.total(), 9u);
}

TEST(LinearHistogram, RejectsBadRange) {
  const std::vector<float> v = {1.0f};
  EXPECT_THROW(linear_histogram(v, 1.0, 1.0, 4), Error);
  EXPECT_THROW(linear_histogram(v, 0.0, 1.0, 0), Error);
}

TEST(Percentile, InterpolatesBetweenOrderStatistics) {
  const std::vector<float> v = {5, 1, 4, 2, 3};  // sorted 1..5
  EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(percentile(v, 0.125), 1.5);  // position 0.5
  EXPECT_DOUBLE_EQ(percentile(v, 0.9), 4.6);    // position 3.6
  EXPECT_DOUBLE_EQ(percentile(std::vector<float>{}, 0.5), 0.0);
  EXPECT_THROW(percentile(v, 1.5), Error);
}

TEST(Percentile, IgnoresNonFinite) {
  const std::vector<float> v = {std::numeric_limits<float>::infinity(), 2, 4};
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 3.0);
}

TEST(AbsMax, OverFiniteValues) {
  EXPECT_FLOAT_EQ(abs_max(std::vector<float>{1, -7, 3}), 7.0f);
  EXPECT_FLOAT_EQ(abs_max(std::vector<float>{}), 0.0f);
}

TEST(LogHistFraction, WholeBinsAndSplitBin) {
  std::vector<uint64_t> h(quant::kHistBins, 0);
  // 10 values in the bin starting at 1.0, 30 in the bin starting at 4.0.
  const int b1 = quant::hist_bin(1.0f), b4 = quant::hist_bin(4.0f);
  h[size_t(b1)] = 10;
  h[size_t(b4)] = 30;
  EXPECT_DOUBLE_EQ(log_hist_fraction_below(h, 2.0), 0.25);   // all of bin 1, none of bin 4
  EXPECT_DOUBLE_EQ(log_hist_fraction_below(h, 1000.0), 1.0);
  EXPECT_DOUBLE_EQ(log_hist_fraction_below(h, 0.5), 0.0);
  // Halfway (geometrically) through the bin at 4: half of its 30.
  const double lo = quant::hist_lower_edge(b4), hi = quant::hist_lower_edge(b4 + 1);
  EXPECT_NEAR(log_hist_fraction_below(h, std::sqrt(lo * hi)), (10 + 15) / 40.0, 1e-12);
  EXPECT_THROW(log_hist_fraction_below(std::vector<uint64_t>(3, 0), 1.0), Error);
}

TEST(LogHistFraction, AgreesWithChannelStats) {
  quant::ChannelStats s(2);
  std::vector<float> x;
  for (int i = 1; i <= 1000; ++i) x.push_back(float(i) * 0.01f), x.push_back(-float(i) * 0.001f);
  s.observe(x);
  // Exactly half of the values are below 0.9 ... within a bin's resolution.
  const double f = log_hist_fraction_below(s.histogram(), s.percentile_abs(0.5));
  EXPECT_NEAR(f, 0.5, 0.01);
}

TEST(ErrorSum, MatchesNmseOfConcatenation) {
  const std::vector<float> r1 = {1, 2}, a1 = {1, 3}, r2 = {2}, a2 = {0};
  ErrorSum e;
  e.add(r1, a1);
  e.add(r2, a2);
  // errors 0 + 1 + 4 = 5 over 1 + 4 + 4 = 9
  EXPECT_DOUBLE_EQ(e.nmse(), 5.0 / 9.0);
  const std::vector<float> r = {1, 2, 2}, a = {1, 3, 0};
  EXPECT_DOUBLE_EQ(e.nmse(), quant::nmse(r, a));
  ErrorSum zero;
  EXPECT_EQ(zero.nmse(), 0.0);
  EXPECT_THROW(e.add(r1, a2), Error);
}

TEST(CodeHistogram, StaticCodesAndSaturation) {
  // Δ = 0.5: x/Δ = 0, 0.4→0, 0.6→1, −2.5→−2 (half to even), 63.5→64 (even),
  // 127.4→127, 127.5→128 clamped (saturated), 300→clamped, −400→clamped.
  const float d = 0.5f;
  const std::vector<float> x = {0.0f, 0.2f, 0.3f, -1.25f, 31.75f, 63.7f, 63.75f, 150.0f, -200.0f};
  const CodeHistogram h = static_int8_codes(x, d);
  ASSERT_EQ(h.lo, -127);
  ASSERT_EQ(h.hi, 127);
  ASSERT_EQ(h.counts.size(), 255u);
  auto at = [&](int c) { return h.counts[size_t(c + 127)]; };
  EXPECT_EQ(at(0), 2u);
  EXPECT_EQ(at(1), 1u);
  EXPECT_EQ(at(-2), 1u);
  EXPECT_EQ(at(64), 1u);
  EXPECT_EQ(at(127), 3u);   // 127.4, 127.5, 300
  EXPECT_EQ(at(-127), 1u);  // −400
  EXPECT_EQ(h.total(), 9u);
  EXPECT_EQ(h.saturated, 3u);  // 127.5, 300, −400: beyond ±127 before the clamp
  EXPECT_DOUBLE_EQ(h.saturated_frac(), 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(h.end_frac(), 4.0 / 9.0);
  EXPECT_THROW(static_int8_codes(x, 0.0f), Error);
  EXPECT_THROW(static_int8_codes(std::vector<float>{std::nanf("")}, d), Error);
}

TEST(CodeHistogram, DynamicCodesPerToken) {
  // Row 0: max 2 → Δ = 2/127: codes 127, −64 (63.5 → 64 half-even), 0.
  // Row 1: max 10 → codes −127, 127, 13 (12.7 → 13).
  const std::vector<float> x = {2.0f, -1.0f, 0.0f, -10.0f, 10.0f, 1.0f};
  const CodeHistogram h = dynamic_int8_codes(x, 3);
  auto at = [&](int c) { return h.counts[size_t(c + 127)]; };
  EXPECT_EQ(at(127), 2u);
  EXPECT_EQ(at(-127), 1u);
  EXPECT_EQ(at(-64), 1u);
  EXPECT_EQ(at(0), 1u);
  EXPECT_EQ(at(13), 1u);
  EXPECT_EQ(h.total(), 6u);
  EXPECT_EQ(h.saturated, 0u);
  EXPECT_DOUBLE_EQ(h.end_frac(), 0.5);
  EXPECT_THROW(dynamic_int8_codes(x, 4), Error);
}

TEST(CodeHistogram, MergeAddsSameRange) {
  CodeHistogram a;
  EXPECT_TRUE(a.empty());
  a.merge(static_int8_codes(std::vector<float>{1.0f, 300.0f}, 1.0f));
  a.merge(static_int8_codes(std::vector<float>{1.0f}, 1.0f));
  EXPECT_EQ(a.counts[size_t(1 + 127)], 2u);
  EXPECT_EQ(a.total(), 3u);
  EXPECT_EQ(a.saturated, 1u);
  EXPECT_THROW(a.merge(code_histogram(-8, 7)), Error);
  EXPECT_DOUBLE_EQ(CodeHistogram{}.saturated_frac(), 0.0);
}

TEST(WeightCodes, Q4_0NibblesAndQ8_0Bytes) {
  // One Q4_0 block: d (2 bytes), then byte j = element j (low) | element j+16 (high).
  std::vector<uint8_t> q4(18, 0);
  for (int j = 0; j < 16; ++j) q4[size_t(2 + j)] = uint8_t((j & 0x0F) | (0x0F << 4));
  const auto h4 = weight_codes("Q4_0", q4, 32);
  ASSERT_TRUE(h4.has_value());
  EXPECT_EQ(h4->lo, -8);
  EXPECT_EQ(h4->hi, 7);
  // low nibbles 0..15 → codes −8..7 once each; high nibbles all 15 → code 7, 16 times.
  for (int c = -8; c < 7; ++c) EXPECT_EQ(h4->counts[size_t(c + 8)], 1u) << c;
  EXPECT_EQ(h4->counts[15], 17u);
  EXPECT_EQ(h4->total(), 32u);
  EXPECT_EQ(h4->saturated, 0u);

  std::vector<uint8_t> q8(34, 0);
  for (int j = 0; j < 32; ++j) q8[size_t(2 + j)] = uint8_t(int8_t(j - 16));
  q8[2] = uint8_t(int8_t(-128));
  const auto h8 = weight_codes("Q8_0", q8, 32);
  ASSERT_TRUE(h8.has_value());
  EXPECT_EQ(h8->lo, -128);
  EXPECT_EQ(h8->counts[0], 1u);               // −128
  EXPECT_EQ(h8->counts[size_t(-15 + 128)], 1u);
  EXPECT_EQ(h8->counts[size_t(15 + 128)], 1u);
  EXPECT_EQ(h8->counts[size_t(-16 + 128)], 0u);  // overwritten by −128
  EXPECT_EQ(h8->total(), 32u);

  EXPECT_FALSE(weight_codes("F16", q4, 32).has_value());
  EXPECT_THROW(weight_codes("Q4_0", q4, 64), Error);  // two blocks need 36 bytes
  EXPECT_THROW(weight_codes("Q4_0", q4, 33), Error);
}

}  // namespace
}  // namespace fptq::report
