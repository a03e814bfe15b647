#include "report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "quant/calib_stats.h"

namespace fptq::report {

uint64_t LinearHistogram::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

LinearHistogram linear_histogram(std::span<const float> values, double lo, double hi, int bins) {
  if (bins < 1) fail("histogram: {} bins (need at least 1)", bins);
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    fail("histogram: range [{}, {}] is empty or not finite", lo, hi);
  LinearHistogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(size_t(bins), 0);
  const double w = (hi - lo) / bins;
  for (float f : values) {
    const double v = f;
    if (!std::isfinite(v) || v < lo || v > hi) {
      ++h.outside;
      continue;
    }
    int64_t b = int64_t(std::floor((v - lo) / w));
    b = std::clamp<int64_t>(b, 0, bins - 1);
    ++h.counts[size_t(b)];
  }
  return h;
}

double percentile(std::span<const float> values, double p) {
  if (!(p >= 0.0 && p <= 1.0)) fail("percentile: p = {} is outside [0, 1]", p);
  std::vector<float> v;
  v.reserve(values.size());
  for (float f : values)
    if (std::isfinite(f)) v.push_back(f);
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = p * double(v.size() - 1);
  const size_t i = size_t(std::floor(pos));
  const double frac = pos - double(i);
  if (i + 1 >= v.size()) return v.back();
  return double(v[i]) + frac * (double(v[i + 1]) - double(v[i]));
}

float abs_max(std::span<const float> values) {
  float m = 0;
  for (float f : values)
    if (std::isfinite(f)) m = std::max(m, std::fabs(f));
  return m;
}

double log_hist_fraction_below(std::span<const uint64_t> hist, double threshold) {
  if (int64_t(hist.size()) != quant::kHistBins)
    fail("histogram has {} bins, expected {}", hist.size(), quant::kHistBins);
  double total = 0;
  for (uint64_t c : hist) total += double(c);
  if (total == 0) return 0.0;
  double below = 0;
  for (int b = 0; b < quant::kHistBins; ++b) {
    const double lo = quant::hist_lower_edge(b);
    const double hi = b + 1 < quant::kHistBins ? quant::hist_lower_edge(b + 1)
                                                : std::numeric_limits<double>::infinity();
    if (hi <= threshold) {
      below += double(hist[size_t(b)]);
    } else if (lo < threshold) {
      // Geometric position of the threshold inside [lo, hi) (bin 0 and the
      // last bin, with an edge at 0 or +inf, count linearly / not at all).
      double f = 0;
      if (lo > 0 && std::isfinite(hi)) f = std::log(threshold / lo) / std::log(hi / lo);
      else if (lo == 0 && std::isfinite(hi)) f = threshold / hi;
      below += f * double(hist[size_t(b)]);
    }
  }
  return below / total;
}

void ErrorSum::add(std::span<const float> ref, std::span<const float> approx) {
  if (ref.size() != approx.size())
    fail("error sum: {} reference values, {} approximations", ref.size(), approx.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(approx[i]) - double(ref[i]);
    err_ += d * d;
    ref_ += double(ref[i]) * double(ref[i]);
  }
}

double ErrorSum::nmse() const {
  if (ref_ == 0) return err_ == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return err_ / ref_;
}

}  // namespace fptq::report
