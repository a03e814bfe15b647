#include "report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "io/ggml_blocks.h"
#include "quant/act_quant.h"
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

uint64_t CodeHistogram::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

double CodeHistogram::saturated_frac() const {
  const uint64_t t = total();
  return t ? double(saturated) / double(t) : 0.0;
}

double CodeHistogram::end_frac() const {
  const uint64_t t = total();
  if (!t) return 0.0;
  return double(counts.front() + (counts.size() > 1 ? counts.back() : 0)) / double(t);
}

void CodeHistogram::merge(const CodeHistogram& o) {
  if (o.empty()) return;
  if (empty()) {
    *this = o;
    return;
  }
  if (o.lo != lo || o.hi != hi)
    fail("code histogram: merging codes {}..{} into {}..{}", o.lo, o.hi, lo, hi);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  saturated += o.saturated;
}

CodeHistogram code_histogram(int lo, int hi) {
  if (hi < lo) fail("code histogram: empty code range {}..{}", lo, hi);
  CodeHistogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(size_t(hi - lo + 1), 0);
  return h;
}

CodeHistogram static_int8_codes(std::span<const float> x, float delta) {
  std::vector<int8_t> q(x.size());
  quant::quantize_static(x, delta, q);  // checks delta and finiteness
  CodeHistogram h = code_histogram(-quant::kActQMax, quant::kActQMax);
  for (size_t i = 0; i < x.size(); ++i) {
    ++h.counts[size_t(int(q[i]) + quant::kActQMax)];
    h.saturated += std::fabs(std::nearbyint(x[i] / delta)) > float(quant::kActQMax);
  }
  return h;
}

CodeHistogram dynamic_int8_codes(std::span<const float> x, int64_t cols) {
  if (cols < 1 || x.size() % size_t(cols) != 0)
    fail("dynamic codes: {} values are not rows of {}", x.size(), cols);
  std::vector<int8_t> q(x.size());
  std::vector<float> scales(x.size() / size_t(cols));
  quant::quantize_dynamic(x, cols, q, scales);
  CodeHistogram h = code_histogram(-quant::kActQMax, quant::kActQMax);
  for (int8_t c : q) ++h.counts[size_t(int(c) + quant::kActQMax)];
  return h;
}

std::optional<CodeHistogram> weight_codes(std::string_view type, std::span<const uint8_t> data,
                                          int64_t elements) {
  const bool q4 = type == "Q4_0" || type == "IQ4_NL", q8 = type == "Q8_0";
  if (!q4 && !q8) return std::nullopt;
  if (elements < 0 || elements % io::kQK != 0)
    fail("weight codes: {} elements are not whole {}-element blocks", elements, io::kQK);
  const size_t blocks = size_t(elements / io::kQK);
  const size_t bytes = blocks * (q4 ? sizeof(io::BlockQ4_0) : sizeof(io::BlockQ8_0));
  if (data.size() < bytes)
    fail("weight codes: {} {} elements need {} bytes, got {}", elements, type, bytes, data.size());
  if (q4) {
    CodeHistogram h = code_histogram(-8, 7);
    for (size_t b = 0; b < blocks; ++b) {
      const uint8_t* qs = data.data() + b * sizeof(io::BlockQ4_0) + 2;
      for (int j = 0; j < io::kQK / 2; ++j) {
        ++h.counts[size_t(qs[j] & 0x0F)];  // (q − 8) − lo = q
        ++h.counts[size_t(qs[j] >> 4)];
      }
    }
    return h;
  }
  CodeHistogram h = code_histogram(-128, 127);
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* qs = data.data() + b * sizeof(io::BlockQ8_0) + 2;
    for (int j = 0; j < io::kQK; ++j) ++h.counts[size_t(int(int8_t(qs[j])) + 128)];
  }
  return h;
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
