// Folding a per-input-channel scale s: [k] into a model so that the function
// it computes is unchanged: the activation X[:, j] is divided by s_j (folded
// into the RMSNorm weight that produces X) and every consumer's weight column
// W[:, j] is multiplied by s_j. Shared by LAE and SmoothQuant.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fptq::quant {

// norm: [k], s: [k] (s_j > 0). norm[j] /= s[j]. Throws fptq::Error on a size
// mismatch or a non-positive / non-finite s_j.
void fold_into_norm(std::span<float> norm, std::span<const float> s);

// w: [n][k] row-major (n = w.size() / k), s: [k]. W[i, j] *= s[j].
// Throws fptq::Error when w.size() is not a multiple of s.size() or s_j is
// not positive and finite.
void fold_into_weight(std::span<float> w, std::span<const float> s);

// m: [k], s: [k]. Returns m'_j = m_j / s_j, the channel maxima of X / s.
std::vector<float> divide_channels(std::span<const float> m, std::span<const float> s);

}  // namespace fptq::quant
