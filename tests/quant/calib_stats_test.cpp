#include "quant/calib_stats.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>

#include "core/error.h"
#include "testing/testing.h"

namespace fptq::quant {
namespace {

// x: [rows][k] with N(0, 1) entries, channel `hot` scaled by `hot_scale`.
std::vector<float> gaussian_rows(int64_t rows, int64_t k, uint32_t seed, int64_t hot = -1,
                                 float hot_scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(rows * k));
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < k; ++j) x[size_t(t * k + j)] = nd(rng) * (j == hot ? hot_scale : 1.0f);
  return x;
}

TEST(CalibStats, KnownValues) {
  ChannelStats s(3);
  // x: [2][3]
  const std::vector<float> x = {1.0f, -4.0f, 0.0f,  //
                                -2.0f, 3.0f, 0.5f};
  s.observe(x);
  EXPECT_EQ(s.tokens(), 2);
  EXPECT_EQ(s.max_abs(), (std::vector<float>{2.0f, 4.0f, 0.5f}));
  EXPECT_EQ(s.sum_sq(), (std::vector<double>{5.0, 25.0, 0.25}));
  EXPECT_EQ(s.bound(), 4.0f);
  EXPECT_EQ(s.top_channels(2), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(s.top_channels(10), (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(s.nonfinite_count(), 0);
  // The six values land in the bins of 1, 4, 0, 2, 3, 0.5.
  uint64_t total = 0;
  for (uint64_t c : s.histogram()) total += c;
  EXPECT_EQ(total, 6u);
  EXPECT_EQ(s.histogram()[0], 1u);  // the zero
  EXPECT_EQ(s.histogram()[size_t(hist_bin(4.0f))], 1u);
  EXPECT_EQ(hist_bin(1.0f) + kHistBinsPerOctave, hist_bin(2.0f));
}

TEST(CalibStats, HistogramEdgesAreConsistent) {
  for (int b = 1; b < kHistBins - 1; ++b) {
    const float lo = float(hist_lower_edge(b));
    // The edge itself belongs to bin b, the value just below it to bin b − 1
    // (edges rounded to float may land one ulp either side of the exact
    // power of two, so check a point clearly inside instead).
    const float mid = float(std::sqrt(hist_lower_edge(b) * hist_lower_edge(b + 1)));
    EXPECT_EQ(hist_bin(mid), b) << "bin " << b;
    (void)lo;
  }
  EXPECT_EQ(hist_bin(0.0f), 0);
  EXPECT_EQ(hist_bin(std::ldexp(1.0f, kHistMinLog2 - 1)), 0);
  EXPECT_EQ(hist_bin(std::ldexp(1.0f, kHistMinLog2)), 1);
  EXPECT_EQ(hist_bin(std::ldexp(1.0f, kHistMaxLog2)), kHistBins - 1);
  EXPECT_EQ(hist_bin(std::numeric_limits<float>::max()), kHistBins - 1);
}

TEST(CalibStats, NonFiniteValuesAreCountedNotMixedIn) {
  ChannelStats s(2);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {1.0f, std::nanf(""), -inf, 2.0f, 3.0f, -1.0f};
  s.observe(x);
  EXPECT_EQ(s.tokens(), 3);
  EXPECT_EQ(s.nan_count(), 1);
  EXPECT_EQ(s.inf_count(), 1);
  EXPECT_EQ(s.nonfinite(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(s.max_abs(), (std::vector<float>{3.0f, 2.0f}));
  EXPECT_EQ(s.bound(), 3.0f);
  uint64_t total = 0;
  for (uint64_t c : s.histogram()) total += c;
  EXPECT_EQ(total, 4u);
}

TEST(CalibStats, EmptyAndSingleChannel) {
  ChannelStats s(1);
  s.observe(std::vector<float>{});
  EXPECT_EQ(s.tokens(), 0);
  EXPECT_EQ(s.bound(), 0.0f);
  s.observe(std::vector<float>{-7.0f, 2.0f});
  EXPECT_EQ(s.tokens(), 2);
  EXPECT_EQ(s.bound(), 7.0f);
  ChannelStats none(0);
  none.observe(std::vector<float>{});
  EXPECT_THROW(none.observe(std::vector<float>{1.0f}), Error);
  EXPECT_TRUE(none.top_channels(3).empty());
}

TEST(CalibStats, RejectsRaggedRows) {
  ChannelStats s(4);
  const std::vector<float> x(6, 1.0f);
  EXPECT_THROW(s.observe(x), Error);
  ChannelStats other(5);
  EXPECT_THROW(s.merge(other), Error);
}

TEST(CalibStats, MergeEqualsOneStream) {
  const int64_t k = 16;
  const auto a = gaussian_rows(100, k, 1, 3, 50.0f);
  const auto b = gaussian_rows(70, k, 2, 7, 200.0f);
  ChannelStats sa(k), sb(k), both(k);
  sa.observe(a);
  sb.observe(b);
  both.observe(a);
  both.observe(b);
  sa.merge(sb);
  EXPECT_EQ(sa.tokens(), both.tokens());
  EXPECT_EQ(sa.max_abs(), both.max_abs());
  EXPECT_EQ(sa.histogram(), both.histogram());
  for (int64_t j = 0; j < k; ++j)
    EXPECT_NEAR(sa.sum_sq()[size_t(j)], both.sum_sq()[size_t(j)], 1e-9 * both.sum_sq()[size_t(j)]);
  EXPECT_EQ(sa.top_channels(2), (std::vector<int64_t>{7, 3}));
}

TEST(CalibStats, PercentileOfGaussianMagnitudes) {
  // |N(0,1)| quantiles: median 0.6745, 99% 2.5758. The histogram resolves one
  // bin (factor 2^(1/8) ≈ 1.09), so each estimate lies within that factor;
  // 1M samples keep the sampling error (~0.3% at the median) far inside.
  const int64_t k = 8;
  ChannelStats s(k);
  s.observe(gaussian_rows(125000, k, 7));
  const double bin = std::exp2(1.0 / kHistBinsPerOctave);
  const double p50 = s.percentile_abs(0.5), p99 = s.percentile_abs(0.99);
  EXPECT_GT(p50, 0.6745 / bin);
  EXPECT_LT(p50, 0.6745 * bin);
  EXPECT_GT(p99, 2.5758 / bin);
  EXPECT_LT(p99, 2.5758 * bin);
  EXPECT_EQ(s.percentile_abs(1.0), double(s.bound()));
  EXPECT_LE(s.percentile_abs(0.0), 1e-5);
  EXPECT_THROW(s.percentile_abs(1.5), Error);
  EXPECT_EQ(ChannelStats(3).percentile_abs(0.5), 0.0);
}

CalibStatsSet sample_set() {
  CalibStatsSet set;
  set.provenance = {"text:wiki.train.raw", 128, 2048, 42, "sha256:abcd"};
  ChannelStats a(4), b(3);
  a.observe(gaussian_rows(10, 4, 3, 1, 30.0f));
  std::vector<float> x = {1.0f, std::nanf(""), 0.1f, 2.0f, 5.0f, -0.25f};
  b.observe(x);
  set.points.emplace("blk.0.attn_in", a);
  set.points.emplace("blk.0.ffn_down_in", b);
  return set;
}

TEST(CalibStatsFile, RoundTripIsExact) {
  testing::TempDir dir;
  const auto set = sample_set();
  const auto path = (dir / "stats.json").string();
  save_calib_stats(path, set);
  const auto got = load_calib_stats(path);
  EXPECT_EQ(got.provenance.source, set.provenance.source);
  EXPECT_EQ(got.provenance.samples, 128);
  EXPECT_EQ(got.provenance.seqlen, 2048);
  EXPECT_EQ(got.provenance.seed, 42u);
  EXPECT_EQ(got.provenance.text_digest, "sha256:abcd");
  ASSERT_EQ(got.points.size(), 2u);
  for (const auto& [name, s] : set.points) {
    const ChannelStats& g = got.points.at(name);
    EXPECT_EQ(g.tokens(), s.tokens());
    EXPECT_EQ(g.max_abs(), s.max_abs());
    EXPECT_EQ(g.sum_sq(), s.sum_sq());
    EXPECT_EQ(g.nonfinite(), s.nonfinite());
    EXPECT_EQ(g.nan_count(), s.nan_count());
    EXPECT_EQ(g.histogram(), s.histogram());
  }
}

// Replaces the first occurrence of `from` in the serialized sample set.
std::string mutated(const std::string& from, const std::string& to) {
  std::string text = serialize_calib_stats(sample_set());
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

void expect_rejected(const std::string& text, const std::string& why) {
  try {
    parse_calib_stats(text, "test.json");
    ADD_FAILURE() << "accepted: " << why;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.json"), std::string::npos) << e.what();
  }
}

TEST(CalibStatsFile, RejectsMalformedFiles) {
  const std::string good = serialize_calib_stats(sample_set());
  EXPECT_NO_THROW(parse_calib_stats(good, "test.json"));
  expect_rejected("", "empty");
  expect_rejected(good.substr(0, good.size() / 2), "truncated");
  expect_rejected("[1, 2]", "not an object");
  expect_rejected(mutated("fptq-calib-stats", "other-format"), "wrong format");
  expect_rejected(mutated("\"version\":1", "\"version\":9"), "wrong version");
  expect_rejected(mutated("\"bins_per_octave\":8", "\"bins_per_octave\":4"), "histogram geometry");
  expect_rejected(mutated("\"channels\":4", "\"channels\":5"), "array length vs channels");
  expect_rejected(mutated("\"channels\":4", "\"channels\":-1"), "negative channels");
  expect_rejected(mutated("\"channels\":4", "\"channels\":99999999999"), "huge channels");
  expect_rejected(mutated("\"tokens\":10", "\"tokens\":11"), "histogram total vs tokens");
  expect_rejected(mutated("\"tokens\":10", "\"tokens\":\"10\""), "string for integer");
  expect_rejected(mutated("\"nan\":1", "\"nan\":0"), "nan count vs per-channel");
  expect_rejected(mutated("\"max_abs\":[", "\"max_abs\":[-1.0,"), "negative max");
  expect_rejected(mutated("\"max_abs\":[", "\"max_abs\":[1e300,"), "float overflow");
  expect_rejected(mutated("\"seed\":42", "\"seed\":-42"), "negative seed");
  expect_rejected(mutated("\"provenance\"", "\"provenancex\""), "missing provenance");
  expect_rejected(mutated("\"hist\":[", "\"hist\":[null,"), "null in histogram");
}

TEST(CalibStatsFile, MissingFileIsAnError) {
  testing::TempDir dir;
  EXPECT_THROW(load_calib_stats((dir / "absent.json").string()), Error);
}

}  // namespace
}  // namespace fptq::quant

namespace fptq::quant {
namespace {

// Outlier-token isolation: a massive row (the attention sink) is kept out of
// the ordinary maxima, counted, and the maxima of every other row are exact.
TEST(CalibStatsOutliers, MassiveRowExcludedFromOrdinaryMaxima) {
  const int64_t rows = 64, k = 16;
  std::vector<float> x = gaussian_rows(rows, k, 11);
  // Ordinary maxima without row 0, computed here.
  std::vector<float> want(size_t(k), 0.0f);
  for (int64_t t = 1; t < rows; ++t)
    for (int64_t j = 0; j < k; ++j)
      want[size_t(j)] = std::max(want[size_t(j)], std::fabs(x[size_t(t * k + j)]));
  for (int64_t j = 0; j < k; ++j) x[size_t(j)] = 500.0f;  // row 0: ~200x the median row max
  ChannelStats s(k);
  s.observe(x);
  EXPECT_EQ(s.outlier_tokens(), 1);
  EXPECT_EQ(s.max_abs()[0], 500.0f);
  for (int64_t j = 0; j < k; ++j) EXPECT_EQ(s.ordinary_max_abs()[size_t(j)], want[size_t(j)]) << j;
  EXPECT_LT(s.ordinary_bound(), 10.0f);
  EXPECT_GT(s.ordinary_bound(), 1.0f);
}

// Rows within kOutlierTokenRatio x the median are ordinary, however spread;
// a row just above the ratio is an outlier, one just below is not.
TEST(CalibStatsOutliers, RatioThresholdIsTwoSided) {
  const int64_t rows = 9, k = 2;
  for (float factor : {kOutlierTokenRatio * 0.99f, kOutlierTokenRatio * 1.01f}) {
    std::vector<float> x(size_t(rows * k), 1.0f);
    x[8 * k + 1] = factor;  // median row max = 1
    ChannelStats s(k);
    s.observe(x);
    const bool outlier = factor > kOutlierTokenRatio;
    EXPECT_EQ(s.outlier_tokens(), outlier ? 1 : 0) << factor;
    EXPECT_EQ(s.ordinary_max_abs()[1], outlier ? 1.0f : factor);
  }
  // Fewer than kOutlierMinRows rows: nothing is flagged.
  std::vector<float> few(size_t((kOutlierMinRows - 1) * k), 1.0f);
  few[1] = 1000.0f;
  ChannelStats s(k);
  s.observe(few);
  EXPECT_EQ(s.outlier_tokens(), 0);
  EXPECT_EQ(s.ordinary_max_abs()[1], 1000.0f);
}

TEST(CalibStatsOutliers, FileRoundTripAndOldFilesAndBadFields) {
  const int64_t k = 4;
  std::vector<float> x = gaussian_rows(32, k, 5);
  x[1] = 900.0f;
  CalibStatsSet set;
  set.points.emplace("blk.0.attn_qkv_in", ChannelStats(k));
  set.points.at("blk.0.attn_qkv_in").observe(x);
  const std::string text = serialize_calib_stats(set);
  const CalibStatsSet back = parse_calib_stats(text, "t");
  const ChannelStats& b = back.points.at("blk.0.attn_qkv_in");
  EXPECT_TRUE(b.has_ordinary());
  EXPECT_EQ(b.outlier_tokens(), 1);
  EXPECT_EQ(b.ordinary_max_abs(), set.points.at("blk.0.attn_qkv_in").ordinary_max_abs());
  // A file without the fields (written before isolation): no ordinary data.
  nlohmann::json j = nlohmann::json::parse(text);
  auto& e = j["points"]["blk.0.attn_qkv_in"];
  nlohmann::json old = j;
  old["points"]["blk.0.attn_qkv_in"].erase("ordinary_max_abs");
  old["points"]["blk.0.attn_qkv_in"].erase("outlier_tokens");
  const CalibStatsSet o = parse_calib_stats(old.dump(), "old");
  EXPECT_FALSE(o.points.at("blk.0.attn_qkv_in").has_ordinary());
  EXPECT_EQ(o.points.at("blk.0.attn_qkv_in").ordinary_max_abs(), o.points.at("blk.0.attn_qkv_in").max_abs());
  // An ordinary maximum above the maximum, or a count above the tokens: refused.
  nlohmann::json bad = j;
  bad["points"]["blk.0.attn_qkv_in"]["ordinary_max_abs"][1] = 1000.0;
  EXPECT_THROW(parse_calib_stats(bad.dump(), "bad"), Error);
  bad = j;
  bad["points"]["blk.0.attn_qkv_in"]["outlier_tokens"] = 33;
  EXPECT_THROW(parse_calib_stats(bad.dump(), "bad"), Error);
  (void)e;
}

}  // namespace
}  // namespace fptq::quant
