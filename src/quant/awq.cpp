#include "quant/awq.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace fptq::quant {

AwqResult awq_search(std::span<const AwqConsumer> consumers, int64_t k,
                     std::span<const float> mean_sq, const Int4Config& cfg, int64_t row_stride,
                     ThreadPool* pool) {
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

  // The rows searched, (consumer, row) in the order their errors are summed.
  struct Row {
    const AwqConsumer* con;
    int64_t i;
  };
  std::vector<Row> rows;
  for (const AwqConsumer& con : consumers)
    for (int64_t i = 0; i < con.n; i += row_stride) rows.push_back({&con, i});
  // Rows are quantized in parallel a chunk at a time (each into its own slot
  // of `what`), then their errors are summed in order by one thread: the
  // result does not depend on the thread count.
  constexpr int64_t kChunk = 256;
  const int64_t n_rows = int64_t(rows.size());
  std::vector<double> what(size_t(std::min(n_rows, kChunk) * k));
  const int n_threads = pool ? pool->size() : 1;
  std::vector<std::vector<float>> row_buf(static_cast<size_t>(n_threads),
                                          std::vector<float>(static_cast<size_t>(k)));

  std::vector<float> s(static_cast<size_t>(k)), imp(static_cast<size_t>(k));
  bool first = true;
  for (float alpha : kAwqAlphas) {
    for (int64_t j = 0; j < k; ++j) {
      s[size_t(j)] = alpha == 0.0f ? 1.0f : float(std::pow(mu[size_t(j)], double(alpha)));
      imp[size_t(j)] = float(double(mean_sq[size_t(j)]) / (double(s[size_t(j)]) * s[size_t(j)]));
    }
    Int4Config c = cfg;
    c.importance = imp;
    // ŵ_ij / s_j of row r of the chunk into what[r].
    auto quantize_row = [&](int64_t r, int64_t slot, int thread) {
      const AwqConsumer& con = *rows[size_t(r)].con;
      const int64_t i = rows[size_t(r)].i;
      const float* w = con.w.data() + i * k;
      std::vector<float>& row = row_buf[size_t(thread)];
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
      double* out = what.data() + slot * k;
      for (int64_t j = 0; j < k; ++j)
        out[j] = double(int4_level(q.codes[size_t(j)], q.grid)) * double(q.scales[size_t(j / g)]) /
                 double(s[size_t(j)]);
    };
    double err = 0;
    for (int64_t r0 = 0; r0 < n_rows; r0 += kChunk) {
      const int64_t m = std::min(kChunk, n_rows - r0);
      if (pool && m > 1)
        pool->parallel_for(m, [&](int64_t t, int thread) { quantize_row(r0 + t, t, thread); });
      else
        for (int64_t t = 0; t < m; ++t) quantize_row(r0 + t, t, 0);
      for (int64_t t = 0; t < m; ++t) {
        const float* w = rows[size_t(r0 + t)].con->w.data() + rows[size_t(r0 + t)].i * k;
        const double* out = what.data() + t * k;
        for (int64_t j = 0; j < k; ++j) {
          const double d = out[j] - double(w[j]);
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
