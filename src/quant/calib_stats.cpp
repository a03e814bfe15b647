#include "quant/calib_stats.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/input_file.h"

namespace fptq::quant {

int hist_bin(float a) {
  static const double lo = std::ldexp(1.0, kHistMinLog2);
  static const double hi = std::ldexp(1.0, kHistMaxLog2);
  const double d = a;
  if (!(d >= lo)) return 0;  // also catches a < 0 (never passed) defensively
  if (d >= hi) return kHistBins - 1;
  const double pos = (std::log2(d) - kHistMinLog2) * kHistBinsPerOctave;
  const int i = std::clamp(int(std::floor(pos)), 0, kHistLogBins - 1);
  return 1 + i;
}

double hist_lower_edge(int b) {
  FPTQ_CHECK(b >= 0 && b <= kHistBins);
  if (b == 0) return 0.0;
  if (b == kHistBins) return std::numeric_limits<double>::infinity();
  return std::exp2(kHistMinLog2 + double(b - 1) / kHistBinsPerOctave);
}

ChannelStats::ChannelStats(int64_t channels) {
  FPTQ_CHECK(channels >= 0);
  max_abs_.assign(size_t(channels), 0.0f);
  ordinary_max_abs_.assign(size_t(channels), 0.0f);
  sum_sq_.assign(size_t(channels), 0.0);
  nonfinite_.assign(size_t(channels), 0);
  hist_.assign(kHistBins, 0);
}

void ChannelStats::observe(std::span<const float> x) {
  const int64_t k = channels();
  if (k == 0) {
    if (!x.empty()) fail("calib stats: {} values observed by an accumulator with 0 channels",
                         x.size());
    return;
  }
  if (int64_t(x.size()) % k != 0)
    fail("calib stats: {} values is not a whole number of rows of {} channels", x.size(), k);
  const int64_t rows = int64_t(x.size()) / k;
  // Outlier tokens: row max above kOutlierTokenRatio x the median row max.
  std::vector<float> row_max(size_t(rows), 0.0f);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < k; ++j) {
      const float v = x[size_t(t * k + j)];
      if (std::isfinite(v)) row_max[size_t(t)] = std::max(row_max[size_t(t)], std::fabs(v));
    }
  float limit = std::numeric_limits<float>::infinity();
  if (rows >= kOutlierMinRows) {
    std::vector<float> sorted = row_max;
    std::nth_element(sorted.begin(), sorted.begin() + rows / 2, sorted.end());
    limit = kOutlierTokenRatio * sorted[size_t(rows / 2)];
  }
  for (int64_t t = 0; t < rows; ++t) {
    const float* row = x.data() + t * k;
    const bool outlier = row_max[size_t(t)] > limit;
    outlier_tokens_ += outlier;
    for (int64_t j = 0; j < k; ++j) {
      const float v = row[j];
      if (!std::isfinite(v)) {
        ++nonfinite_[size_t(j)];
        if (std::isnan(v)) ++nan_count_; else ++inf_count_;
        continue;
      }
      const float a = std::fabs(v);
      if (a > max_abs_[size_t(j)]) max_abs_[size_t(j)] = a;
      if (!outlier && a > ordinary_max_abs_[size_t(j)]) ordinary_max_abs_[size_t(j)] = a;
      sum_sq_[size_t(j)] += double(v) * double(v);
      ++hist_[size_t(hist_bin(a))];
    }
  }
  tokens_ += rows;
}

void ChannelStats::merge(const ChannelStats& other) {
  if (other.channels() != channels())
    fail("calib stats: cannot merge {} channels into {}", other.channels(), channels());
  for (size_t j = 0; j < max_abs_.size(); ++j) {
    max_abs_[j] = std::max(max_abs_[j], other.max_abs_[j]);
    ordinary_max_abs_[j] = std::max(ordinary_max_abs_[j], other.ordinary_max_abs_[j]);
    sum_sq_[j] += other.sum_sq_[j];
    nonfinite_[j] += other.nonfinite_[j];
  }
  for (size_t b = 0; b < hist_.size(); ++b) hist_[b] += other.hist_[b];
  tokens_ += other.tokens_;
  outlier_tokens_ += other.outlier_tokens_;
  has_ordinary_ = has_ordinary_ && other.has_ordinary_;
  nan_count_ += other.nan_count_;
  inf_count_ += other.inf_count_;
}

float ChannelStats::bound() const {
  float b = 0.0f;
  for (float m : max_abs_) b = std::max(b, m);
  return b;
}

std::vector<double> ChannelStats::mean_sq() const {
  const double t = double(std::max<int64_t>(tokens_, 1));
  std::vector<double> m(sum_sq_.size());
  for (size_t j = 0; j < m.size(); ++j) m[j] = sum_sq_[j] / t;
  return m;
}

float ChannelStats::ordinary_bound() const {
  float b = 0.0f;
  for (float m : ordinary_max_abs_) b = std::max(b, m);
  return b;
}

double ChannelStats::percentile_abs(double p) const {
  if (!(p >= 0.0 && p <= 1.0)) fail("calib stats: percentile {} outside [0, 1]", p);
  const uint64_t total = std::accumulate(hist_.begin(), hist_.end(), uint64_t{0});
  if (total == 0) return 0.0;
  const double bmax = bound();
  const double rank = p * double(total);
  uint64_t before = 0;
  for (int b = 0; b < kHistBins; ++b) {
    const uint64_t c = hist_[size_t(b)];
    if (c == 0) continue;
    if (double(before + c) >= rank) {
      const double f = std::clamp((rank - double(before)) / double(c), 0.0, 1.0);
      double v;
      if (b == 0) {
        v = f * hist_lower_edge(1);
      } else if (b == kHistBins - 1) {
        v = bmax;
      } else {
        const double lo = hist_lower_edge(b), hi = hist_lower_edge(b + 1);
        v = lo * std::pow(hi / lo, f);
      }
      return std::min(v, bmax);
    }
    before += c;
  }
  return bmax;
}

std::vector<int64_t> ChannelStats::top_channels(int64_t k) const {
  std::vector<int64_t> idx(max_abs_.size());
  std::iota(idx.begin(), idx.end(), int64_t{0});
  k = std::clamp<int64_t>(k, 0, int64_t(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    if (max_abs_[size_t(a)] != max_abs_[size_t(b)])
      return max_abs_[size_t(a)] > max_abs_[size_t(b)];
    return a < b;
  });
  idx.resize(size_t(k));
  return idx;
}

ChannelStats ChannelStats::from_parts(const std::string& what, int64_t tokens,
                                      std::vector<float> max_abs, std::vector<double> sum_sq,
                                      std::vector<int64_t> nonfinite, int64_t nan_count,
                                      int64_t inf_count, std::vector<uint64_t> hist) {
  const size_t k = max_abs.size();
  if (sum_sq.size() != k || nonfinite.size() != k)
    fail("{}: per-channel arrays disagree in length (max_abs {}, sum_sq {}, nonfinite {})", what,
         k, sum_sq.size(), nonfinite.size());
  if (hist.size() != size_t(kHistBins))
    fail("{}: histogram has {} bins, expected {}", what, hist.size(), kHistBins);
  if (tokens < 0 || nan_count < 0 || inf_count < 0)
    fail("{}: negative count (tokens {}, nan {}, inf {})", what, tokens, nan_count, inf_count);
  int64_t values = 0;
  if (!checked_mul(tokens, int64_t(k), &values))
    fail("{}: tokens {} x channels {} overflows", what, tokens, k);
  uint64_t nonfinite_sum = 0;
  for (size_t j = 0; j < k; ++j) {
    if (!std::isfinite(max_abs[j]) || max_abs[j] < 0)
      fail("{}: max_abs[{}] = {} is not a finite non-negative value", what, j, max_abs[j]);
    if (!std::isfinite(sum_sq[j]) || sum_sq[j] < 0)
      fail("{}: sum_sq[{}] = {} is not a finite non-negative value", what, j, sum_sq[j]);
    if (nonfinite[j] < 0 || nonfinite[j] > tokens)
      fail("{}: nonfinite[{}] = {} outside [0, tokens = {}]", what, j, nonfinite[j], tokens);
    nonfinite_sum += uint64_t(nonfinite[j]);
  }
  uint64_t nf = 0;
  if (!checked_add(uint64_t(nan_count), uint64_t(inf_count), &nf) || nf != nonfinite_sum)
    fail("{}: nan {} + inf {} does not match the per-channel non-finite total {}", what,
         nan_count, inf_count, nonfinite_sum);
  uint64_t hist_total = 0;
  for (uint64_t c : hist)
    if (!checked_add(hist_total, c, &hist_total)) fail("{}: histogram total overflows", what);
  if (hist_total != uint64_t(values) - nonfinite_sum)
    fail("{}: histogram holds {} values, expected tokens x channels - non-finite = {}", what,
         hist_total, uint64_t(values) - nonfinite_sum);
  ChannelStats s(static_cast<int64_t>(k));
  s.tokens_ = tokens;
  s.nan_count_ = nan_count;
  s.inf_count_ = inf_count;
  s.ordinary_max_abs_ = max_abs;  // until set_ordinary: no isolation data
  s.has_ordinary_ = false;
  s.max_abs_ = std::move(max_abs);
  s.sum_sq_ = std::move(sum_sq);
  s.nonfinite_ = std::move(nonfinite);
  s.hist_ = std::move(hist);
  return s;
}

void ChannelStats::set_ordinary(const std::string& what, std::vector<float> ordinary_max_abs,
                                int64_t outlier_tokens) {
  if (ordinary_max_abs.size() != max_abs_.size())
    fail("{}: ordinary_max_abs has {} elements, expected {}", what, ordinary_max_abs.size(),
         max_abs_.size());
  if (outlier_tokens < 0 || outlier_tokens > tokens_)
    fail("{}: outlier_tokens {} outside [0, tokens = {}]", what, outlier_tokens, tokens_);
  for (size_t j = 0; j < ordinary_max_abs.size(); ++j)
    if (!std::isfinite(ordinary_max_abs[j]) || ordinary_max_abs[j] < 0 ||
        ordinary_max_abs[j] > max_abs_[j])
      fail("{}: ordinary_max_abs[{}] = {} is not in [0, max_abs = {}]", what, j,
           ordinary_max_abs[j], max_abs_[j]);
  ordinary_max_abs_ = std::move(ordinary_max_abs);
  outlier_tokens_ = outlier_tokens;
  has_ordinary_ = true;
}

// ---- serialization ---------------------------------------------------------

namespace {

using nlohmann::json;

constexpr const char* kFormat = "fptq-calib-stats";
constexpr int kVersion = 1;
// A stats file holds O(layers x hidden) numbers; anything this large is not one.
constexpr uintmax_t kMaxFileBytes = uintmax_t(1) << 30;

const json& field(const json& obj, const char* key, const std::string& what) {
  if (!obj.is_object()) fail("{}: expected an object", what);
  auto it = obj.find(key);
  if (it == obj.end()) fail("{}: missing field '{}'", what, key);
  return *it;
}

int64_t get_int(const json& obj, const char* key, const std::string& what) {
  const json& v = field(obj, key, what);
  if (!v.is_number_integer()) fail("{}: field '{}' must be an integer", what, key);
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
    fail("{}: field '{}' out of range", what, key);
  return v.get<int64_t>();
}

uint64_t get_uint(const json& obj, const char* key, const std::string& what) {
  const json& v = field(obj, key, what);
  if (!v.is_number_unsigned()) fail("{}: field '{}' must be a non-negative integer", what, key);
  return v.get<uint64_t>();
}

std::string get_string(const json& obj, const char* key, const std::string& what) {
  const json& v = field(obj, key, what);
  if (!v.is_string()) fail("{}: field '{}' must be a string", what, key);
  return v.get<std::string>();
}

const json& get_array(const json& obj, const char* key, size_t expect, const std::string& what) {
  const json& v = field(obj, key, what);
  if (!v.is_array()) fail("{}: field '{}' must be an array", what, key);
  if (v.size() != expect)
    fail("{}: field '{}' has {} elements, expected {}", what, key, v.size(), expect);
  return v;
}

template <typename T>
std::vector<T> numbers(const json& arr, const char* key, const std::string& what) {
  std::vector<T> out;
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& e = arr[i];
    if constexpr (std::is_floating_point_v<T>) {
      if (!e.is_number()) fail("{}: {}[{}] is not a number", what, key, i);
      const double d = e.get<double>();
      if constexpr (std::is_same_v<T, float>) {
        if (std::fabs(d) > double(std::numeric_limits<float>::max()))
          fail("{}: {}[{}] = {} does not fit a float", what, key, i, d);
      }
      out.push_back(T(d));
    } else if constexpr (std::is_signed_v<T>) {
      if (!e.is_number_integer()) fail("{}: {}[{}] is not an integer", what, key, i);
      if (e.is_number_unsigned() && e.get<uint64_t>() > uint64_t(INT64_MAX))
        fail("{}: {}[{}] out of range", what, key, i);
      out.push_back(e.get<int64_t>());
    } else {
      if (!e.is_number_unsigned()) fail("{}: {}[{}] is not a non-negative integer", what, key, i);
      out.push_back(e.get<uint64_t>());
    }
  }
  return out;
}

}  // namespace

std::string serialize_calib_stats(const CalibStatsSet& set) {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["histogram"] = {{"bins_per_octave", kHistBinsPerOctave},
                    {"min_log2", kHistMinLog2},
                    {"max_log2", kHistMaxLog2}};
  const CalibProvenance& p = set.provenance;
  j["provenance"] = {{"source", p.source},
                     {"samples", p.samples},
                     {"seqlen", p.seqlen},
                     {"seed", p.seed},
                     {"text_digest", p.text_digest}};
  json points = json::object();
  for (const auto& [name, s] : set.points) {
    json e;
    e["channels"] = s.channels();
    e["tokens"] = s.tokens();
    e["max_abs"] = s.max_abs();
    e["sum_sq"] = s.sum_sq();
    e["nonfinite"] = s.nonfinite();
    e["nan"] = s.nan_count();
    e["inf"] = s.inf_count();
    e["hist"] = s.histogram();
    if (s.has_ordinary()) {
      e["ordinary_max_abs"] = s.ordinary_max_abs();
      e["outlier_tokens"] = s.outlier_tokens();
    }
    points[name] = std::move(e);
  }
  j["points"] = std::move(points);
  return j.dump();
}

CalibStatsSet parse_calib_stats(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", what, e.what());
  }
  if (!j.is_object()) fail("{}: top level must be an object", what);
  if (get_string(j, "format", what) != kFormat)
    fail("{}: format is not '{}'", what, kFormat);
  const int64_t version = get_int(j, "version", what);
  if (version != kVersion) fail("{}: unsupported version {} (expected {})", what, version, kVersion);
  const json& h = field(j, "histogram", what);
  const std::string hw = what + ": histogram";
  if (get_int(h, "bins_per_octave", hw) != kHistBinsPerOctave ||
      get_int(h, "min_log2", hw) != kHistMinLog2 || get_int(h, "max_log2", hw) != kHistMaxLog2)
    fail("{}: histogram geometry differs from this build's ({} bins/octave, 2^{}..2^{})", what,
         kHistBinsPerOctave, kHistMinLog2, kHistMaxLog2);

  CalibStatsSet set;
  const json& p = field(j, "provenance", what);
  const std::string pw = what + ": provenance";
  set.provenance.source = get_string(p, "source", pw);
  set.provenance.samples = get_int(p, "samples", pw);
  set.provenance.seqlen = get_int(p, "seqlen", pw);
  set.provenance.seed = get_uint(p, "seed", pw);
  set.provenance.text_digest = get_string(p, "text_digest", pw);
  if (set.provenance.samples < 0 || set.provenance.seqlen < 0)
    fail("{}: negative samples {} or seqlen {}", pw, set.provenance.samples,
         set.provenance.seqlen);

  const json& points = field(j, "points", what);
  if (!points.is_object()) fail("{}: 'points' must be an object", what);
  for (const auto& [name, e] : points.items()) {
    const std::string ew = what + ": point '" + name + "'";
    const int64_t k = get_int(e, "channels", ew);
    if (k < 0 || uint64_t(k) > text.size())  // each channel needs bytes in the file
      fail("{}: channel count {} impossible for a {}-byte file", ew, k, text.size());
    const size_t kk = size_t(k);
    auto max_abs = numbers<float>(get_array(e, "max_abs", kk, ew), "max_abs", ew);
    auto sum_sq = numbers<double>(get_array(e, "sum_sq", kk, ew), "sum_sq", ew);
    auto nonfinite = numbers<int64_t>(get_array(e, "nonfinite", kk, ew), "nonfinite", ew);
    auto hist = numbers<uint64_t>(get_array(e, "hist", size_t(kHistBins), ew), "hist", ew);
    ChannelStats st = ChannelStats::from_parts(
        ew, get_int(e, "tokens", ew), std::move(max_abs), std::move(sum_sq),
        std::move(nonfinite), get_int(e, "nan", ew), get_int(e, "inf", ew), std::move(hist));
    if (e.contains("ordinary_max_abs"))
      st.set_ordinary(ew,
                      numbers<float>(get_array(e, "ordinary_max_abs", kk, ew), "ordinary_max_abs", ew),
                      get_int(e, "outlier_tokens", ew));
    set.points.emplace(name, std::move(st));
  }
  return set;
}

void save_calib_stats(const std::string& path, const CalibStatsSet& set) {
  const std::string text = serialize_calib_stats(set);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail("calib stats '{}': cannot open for writing", path);
  f.write(text.data(), std::streamsize(text.size()));
  f.close();
  if (!f) fail("calib stats '{}': write failed", path);
}

CalibStatsSet load_calib_stats(const std::string& path) {
  return parse_calib_stats(read_text_input(path, "calib stats", kMaxFileBytes),
                           "calib stats '" + path + "'");
}

}  // namespace fptq::quant
