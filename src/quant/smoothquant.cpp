#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fptq::quant {

std::vector<float> weight_column_max(std::span<const float> w, size_t k) {
  if (k == 0 ? !w.empty() : w.size() % k != 0)
    fail("smoothquant: weight of {} values is not [n][{}]", w.size(), k);
  std::vector<float> out(k, 0.0f);
  for (size_t r = 0; k != 0 && r < w.size() / k; ++r)
    for (size_t j = 0; j < k; ++j) out[j] = std::max(out[j], std::fabs(w[r * k + j]));
  return out;
}

std::vector<float> smoothquant_scales(std::span<const float> m, std::span<const float> wmax,
                                      float alpha) {
  if (m.size() != wmax.size())
    fail("smoothquant: {} activation maxima but {} weight maxima", m.size(), wmax.size());
  if (!(alpha >= 0.0f && alpha <= 1.0f)) fail("smoothquant: alpha {} outside [0, 1]", alpha);
  std::vector<float> s(m.size());
  for (size_t j = 0; j < m.size(); ++j) {
    if (!std::isfinite(m[j]) || m[j] < 0 || !std::isfinite(wmax[j]) || wmax[j] < 0)
      fail("smoothquant: channel {} has m = {}, max|W| = {} (need finite, >= 0)", j, m[j],
           wmax[j]);
    if (m[j] == 0.0f || wmax[j] == 0.0f) {
      s[j] = 1.0f;
      continue;
    }
    const double v = std::pow(double(m[j]), alpha) / std::pow(double(wmax[j]), 1.0 - alpha);
    s[j] = float(std::clamp(v, double(kSmoothMinScale), 1.0 / kSmoothMinScale));
  }
  return s;
}

}  // namespace fptq::quant
