#include "quant/awq.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fptq::quant {

AwqResult awq_search(std::span<const AwqConsumer> consumers, int64_t k,
                     std::span<const float> mean_sq, const Int4Config& cfg, int64_t row_stride) {
  if (k <= 0 || int64_t(mean_sq.size()) != k)
    fail("awq: {} channel statistics for K = {}", mean_sq.size(), k);
  if (row_stride < 1) fail("awq: row stride {} < 1", row_stride);
  for (float v : mean_sq)
    if (!(v >= 0.0f) || !std::isfinite(v)) fail("awq: E[x²] value {} is not finite and >= 0", v);
  for (const AwqConsumer& c : consumers)
    if (c.n < 0 || int64_t(c.w.size()) != c.n * k)
      fail("awq: consumer of {} values is not [{}][{}]", c.w.size(), c.n, k);
  // μ_j normalized by its geometric mean (channels with E[x²] = 0 excluded
  // from the mean and given μ = the smallest positive one).
  std::vector<double> mu(static_cast<size_t>(k));
  double log_sum = 0, min_pos = 0;
  int64_t pos = 0;
  for (int64_t j = 0; j < k; ++j) {
    mu[size_t(j)] = std::sqrt(double(mean_sq[size_t(j)]));
    if (mu[size_t(j)] > 0) {
      log_sum += std::log(mu[size_t(j)]);
      min_pos = pos == 0 ? mu[size_t(j)] : std::min(min_pos, mu[size_t(j)]);
      ++pos;
    }
  }
  AwqResult best;
  if (pos == 0) {
    best.scales.assign(size_t(k), 1.0f);
    return best;
  }
  const double gm = std::exp(log_sum / double(pos));
  for (double& m : mu) m = (m > 0 ? m : min_pos) / gm;

  std::vector<float> s(static_cast<size_t>(k)), imp(static_cast<size_t>(k)), row(static_cast<size_t>(k));
  bool first = true;
  for (float alpha : kAwqAlphas) {
    for (int64_t j = 0; j < k; ++j) {
      s[size_t(j)] = alpha == 0.0f ? 1.0f : float(std::pow(mu[size_t(j)], double(alpha)));
      imp[size_t(j)] = float(double(mean_sq[size_t(j)]) / (double(s[size_t(j)]) * s[size_t(j)]));
    }
    Int4Config c = cfg;
    c.importance = imp;
    double err = 0;
    for (const AwqConsumer& con : consumers) {
      for (int64_t i = 0; i < con.n; i += row_stride) {
        const float* w = con.w.data() + i * k;
        for (int64_t j = 0; j < k; ++j) row[size_t(j)] = w[j] * s[size_t(j)];
        Int4Weights q;
        try {
          q = quantize_int4(row, 1, k, c);
        } catch (const Error& e) {
          // The search quantizes one scaled row at a time: name the row.
          std::string msg = e.what();
          if (msg.starts_with("int4: row 0, ")) msg.erase(0, 13);
          fail("{}: AWQ search (alpha {:g}): row {}, {}", con.name, alpha, i, msg);
        }
        if (q.status != Int4Status::Ok) fail("{}: AWQ search: {}", con.name, q.message);
        const int64_t g = q.group;
        for (int64_t j = 0; j < k; ++j) {
          const double what = double(int4_level(q.codes[size_t(j)], q.grid)) *
                              double(q.scales[size_t(j / g)]) /
                              double(s[size_t(j)]);
          const double d = what - double(w[j]);
          err += double(mean_sq[size_t(j)]) * d * d;
        }
      }
    }
    if (first) best.error_unscaled = err;
    if (first || err < best.error) {
      best.alpha = alpha;
      best.error = err;
      best.scales = s;
    }
    first = false;
  }
  return best;
}

}  // namespace fptq::quant
