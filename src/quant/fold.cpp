#include "quant/fold.h"

#include <cmath>

#include "core/error.h"

namespace fptq::quant {

namespace {
void check_scales(std::span<const float> s, const char* what) {
  for (size_t j = 0; j < s.size(); ++j)
    if (!(s[j] > 0.0f) || !std::isfinite(s[j]))
      fail("{}: scale s[{}] = {} is not positive and finite", what, j, s[j]);
}
}  // namespace

void fold_into_norm(std::span<float> norm, std::span<const float> s) {
  if (norm.size() != s.size())
    fail("fold_into_norm: norm has {} channels, scales {}", norm.size(), s.size());
  check_scales(s, "fold_into_norm");
  for (size_t j = 0; j < s.size(); ++j) norm[j] /= s[j];
}

void fold_into_weight(std::span<float> w, std::span<const float> s) {
  const size_t k = s.size();
  if (k == 0 ? !w.empty() : w.size() % k != 0)
    fail("fold_into_weight: weight of {} values is not [n][{}]", w.size(), k);
  check_scales(s, "fold_into_weight");
  for (size_t r = 0; k != 0 && r < w.size() / k; ++r) {
    float* row = w.data() + r * k;
    for (size_t j = 0; j < k; ++j) row[j] *= s[j];
  }
}

std::vector<float> divide_channels(std::span<const float> m, std::span<const float> s) {
  if (m.size() != s.size())
    fail("divide_channels: {} maxima, {} scales", m.size(), s.size());
  check_scales(s, "divide_channels");
  std::vector<float> out(m.size());
  for (size_t j = 0; j < m.size(); ++j) out[j] = m[j] / s[j];
  return out;
}

}  // namespace fptq::quant
