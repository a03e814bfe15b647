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

}  // namespace
}  // namespace fptq::report
