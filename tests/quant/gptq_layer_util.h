// GPTQ against round-to-nearest on the real layers of a model: the inputs of
// chosen observation points captured from calibration sequences, the layer
// output error ||X·Wᵀ − X·Ŵᵀ||² = ½ Σ_n δ_nᵀ H δ_n (H = 2 XᵀX, δ_n = w_n − ŵ_n)
// on the calibration rows and on held-out rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "io/dequant.h"
#include "io/model_file.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/observer.h"
#include "quant/calibrate.h"
#include "quant/gptq.h"
#include "quant/weight_int4.h"
#include "tokenizer/tokenizer.h"

namespace fptq::quant::testutil {

// Accumulates H = 2 Σ xᵀx of the named points.
class HessianTap : public model::Observer {
 public:
  explicit HessianTap(const std::vector<std::string>& points) {
    for (const auto& p : points) names_.push_back(p);
  }
  void on_matmul_input(const model::ObservationPoint& p, float* x, int64_t rows,
                       int64_t cols) override {
    for (const auto& n : names_) {
      if (p.name != n) continue;
      auto it = acc_.find(n);
      if (it == acc_.end()) it = acc_.emplace(n, HessianAccumulator(cols)).first;
      it->second.add(std::span<const float>(x, size_t(rows * cols)));
      auto& m = max_[n];
      m.resize(size_t(cols), 0.0f);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j)
          m[size_t(j)] = std::max(m[size_t(j)], std::fabs(x[r * cols + j]));
    }
  }
  // Per-channel max |x| of every point.
  const std::map<std::string, std::vector<float>>& maxima() const { return max_; }
  std::map<std::string, std::vector<double>> matrices() const {
    std::map<std::string, std::vector<double>> out;
    for (const auto& [n, a] : acc_) out.emplace(n, a.matrix());
    return out;
  }

 private:
  std::vector<std::string> names_;
  std::map<std::string, HessianAccumulator> acc_;
  std::map<std::string, std::vector<float>> max_;
};

// Runs `data` through `m` (FP) with `tap` attached.
inline void run_tap(const model::Model& m, const CalibData& data, HessianTap& tap,
                    ThreadPool& pool) {
  std::vector<float> logits;
  for (const auto& seq : data.sequences) {
    model::KvCache cache(m.config(), int64_t(seq.size()));
    m.forward(seq, cache, pool, model::Logits::last, logits, &tap);
  }
}

// Hessians of `points` over `data` run through `m` (FP).
inline std::map<std::string, std::vector<double>> tap_hessians(
    const model::Model& m, const CalibData& data, const std::vector<std::string>& points,
    ThreadPool& pool) {
  HessianTap tap(points);
  run_tap(m, data, tap, pool);
  return tap.matrices();
}

// ½ Σ_n δ_nᵀ H δ_n = ||X(W − Ŵ)ᵀ||² for H = 2 XᵀX.
inline double layer_output_error(const std::vector<float>& w, const std::vector<float>& wq,
                                 int64_t n, int64_t k, const std::vector<double>& h) {
  double e = 0.0;
  std::vector<double> d(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j)
      d[size_t(j)] = double(w[size_t(i * k + j)]) - double(wq[size_t(i * k + j)]);
    for (int64_t a = 0; a < k; ++a) {
      if (d[size_t(a)] == 0.0) continue;
      const double* hr = h.data() + a * k;
      double s = 0.0;
      for (int64_t b = 0; b < k; ++b) s += hr[b] * d[size_t(b)];
      e += d[size_t(a)] * s;
    }
  }
  return 0.5 * e;
}

// Random-token or text calibration data for `m`.
inline CalibData calib_data(const model::Model& m, int64_t samples, int64_t seqlen, uint64_t seed,
                            const std::vector<std::string>& text = {}) {
  const auto tok = tok::Tokenizer::from_metadata(m.file().metadata, m.file().path);
  CalibOptions o;
  o.samples = samples;
  o.seqlen = seqlen;
  o.seed = seed;
  o.text_files = text;
  return make_calib_data(*tok, m.config(), o);
}

// Output errors of RTN and GPTQ weights for the same int4 config, on the
// calibration Hessian `hc` (GPTQ's own) and a held-out one `ht`.
struct GptqVsRtn {
  double rtn_cal = 0, gptq_cal = 0, rtn_test = 0, gptq_test = 0;
};
inline GptqVsRtn gptq_vs_rtn(const std::vector<float>& w, int64_t n, int64_t k,
                             const std::vector<double>& hc, const std::vector<double>& ht,
                             const Int4Config& int4, bool act_order) {
  const auto rtn = dequantize_int4(quantize_int4(w, n, k, int4));
  GptqConfig cfg;
  cfg.int4 = int4;
  cfg.act_order = act_order;
  const auto gq = dequantize_int4(gptq_quantize(w, n, k, hc, cfg));
  return {layer_output_error(w, rtn, n, k, hc), layer_output_error(w, gq, n, k, hc),
          layer_output_error(w, rtn, n, k, ht), layer_output_error(w, gq, n, k, ht)};
}

}  // namespace fptq::quant::testutil
