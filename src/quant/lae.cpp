#include "quant/lae.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fptq::quant {

float lae_scale(float m) {
  const double md = m;
  return std::max(float(md / std::log2(2.0 + md)), kLaeMinScale);
}

std::vector<float> lae_scales(std::span<const float> m) {
  std::vector<float> s(m.size());
  for (size_t j = 0; j < m.size(); ++j) {
    if (!std::isfinite(m[j]) || m[j] < 0)
      fail("LAE: channel maximum m[{}] = {} is not finite and non-negative", j, m[j]);
    s[j] = lae_scale(m[j]);
  }
  return s;
}

}  // namespace fptq::quant
