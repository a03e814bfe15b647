// Logarithmic Activation Equalization (fptq-method.md §3).
//
// Per input channel j of a shared layer input with channel maxima m_j:
//   s_j = max(m_j / log2(2 + m_j), kLaeMinScale)
// Fold with fold.h: norm[j] /= s_j, W[:, j] *= s_j for every consumer.
// After folding, the channel maximum is m_j / s_j = log2(2 + m_j)
// (1000 -> ~10, 150 -> ~7.2, 2 -> 2); no hyperparameter, no weight statistics.
#pragma once

#include <span>
#include <vector>

namespace fptq::quant {

inline constexpr float kLaeMinScale = 1e-5f;

// s_j for one channel maximum m (m >= 0, finite). Computed in double, rounded
// once to float.
float lae_scale(float m);

// m: [k] channel maxima -> s: [k]. Throws fptq::Error when some m_j is negative
// or not finite.
std::vector<float> lae_scales(std::span<const float> m);

}  // namespace fptq::quant
