// SmoothQuant migration scales (the W8A8 baseline FPTQ is compared against):
//   s_j = m_j^α / w_j^(1−α),   w_j = max over every consumer row n of |W[n, j]|
// α = 0.5 by default. Fold with fold.h exactly like LAE.
#pragma once

#include <span>
#include <vector>

namespace fptq::quant {

inline constexpr float kSmoothMinScale = 1e-5f;

// w: [n][k] row-major (n = w.size() / k). Returns max_n |W[n, j]|: [k].
// To combine consumers sharing an input (q/k/v), take the element-wise max of
// their results. Throws fptq::Error when w.size() is not a multiple of k.
std::vector<float> weight_column_max(std::span<const float> w, size_t k);

// m: [k] activation channel maxima, wmax: [k] weight column maxima, α in [0, 1].
// Returns s: [k]. Guards: a channel with m_j == 0 or wmax_j == 0 (dead input
// or dead column) gets s_j = 1 (nothing to migrate); results are clamped to
// [kSmoothMinScale, 1/kSmoothMinScale]. Throws fptq::Error on a size mismatch,
// α outside [0, 1], or a negative / non-finite input.
std::vector<float> smoothquant_scales(std::span<const float> m, std::span<const float> wmax,
                                      float alpha = 0.5f);

}  // namespace fptq::quant
