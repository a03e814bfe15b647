// Activation-aware per-channel weight scales (AWQ-style), searched on the
// layer's output error instead of learned.
//
// For a point whose input x has a norm to fold into (attn_qkv_in,
// ffn_gate_up_in) and consumers W_c: [n_c][k]:
//   s_j(α) = (μ_j / geomean(μ))^α,  μ_j = sqrt(E[x_j²]) (the calibration RMS)
//   W'_c = W_c · diag(s),  x' = x / s  (fold: norm[j] /= s_j, as LAE)
// The int4 quantizer then sees columns of important channels scaled up: a
// finer effective step for them, at the cost of the group's range. α is chosen
// from kAwqAlphas by the diagonal output-error objective
//   E(α) = Σ_c Σ_i Σ_j E[x_j²] · (Q(W'_c)_ij / s_j − W_c,ij)²
// with the int4 quantizer of the recipe (group g, its scale rule weighted by
// E[x'_j²] = E[x_j²] / s_j²), on every `row_stride`-th row of each consumer
// (a subsample: the objective is a sum over rows). α = 0 (s = 1) is always a
// candidate, so the chosen fold never raises E on the rows searched.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/weight_int4.h"

namespace fptq {
class ThreadPool;
}

namespace fptq::quant {

inline constexpr float kAwqAlphas[] = {0.0f, 0.125f, 0.25f, 0.375f, 0.5f, 0.625f, 0.75f};

struct AwqConsumer {
  std::span<const float> w;  // [n][k] row-major
  int64_t n = 0;
  std::string name;          // the tensor, for messages
};

struct AwqResult {
  float alpha = 0;           // the chosen α (0: no fold)
  std::vector<float> scales; // s: [k] (all 1 when α = 0)
  double error = 0;          // E(α) on the rows searched
  double error_unscaled = 0; // E(0)
};

// mean_sq: E[x_j²], [k]. cfg: the int4 group and scale rule (its importance
// field is ignored: set per candidate). Throws fptq::Error on bad sizes or a
// negative / non-finite mean_sq. pool: quantizes the searched rows in
// parallel (nullptr: on the calling thread); the result is the same bits
// whatever the thread count.
AwqResult awq_search(std::span<const AwqConsumer> consumers, int64_t k,
                     std::span<const float> mean_sq, const Int4Config& cfg,
                     int64_t row_stride = 8, ThreadPool* pool = nullptr);

}  // namespace fptq::quant
