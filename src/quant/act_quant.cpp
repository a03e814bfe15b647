#include "quant/act_quant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fptq::quant {

namespace {

// One element: clamp(nearbyint(x / delta), −127, 127) of a finite x.
inline int8_t quant1(float x, float delta) {
  float r = std::nearbyint(x / delta);
  r = std::min(std::max(r, -float(kActQMax)), float(kActQMax));
  return int8_t(r);
}

// Throws naming the first non-finite value of x (row-major [rows][k]; k = 0
// for a flat tensor).
void check_finite(std::span<const float> x, int64_t k, const char* what) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) continue;
    if (k > 0)
      fail("{}: activation [token {}, channel {}] is {}: non-finite input (the model overflows)",
           what, i / size_t(k), i % size_t(k), x[i]);
    fail("{}: activation {} is {}: non-finite input (the model overflows)", what, i, x[i]);
  }
}

void check_delta(float delta, const char* what) {
  if (!(delta > 0.0f) || !std::isfinite(delta))
    fail("{}: scale {} is not positive and finite", what, delta);
}

void check_rows(size_t size, int64_t k, const char* what) {
  if (k <= 0 ? size != 0 : size % size_t(k) != 0)
    fail("{}: {} values is not [tokens][{}]", what, size, k);
}

}  // namespace

float static_act_scale(float bound) {
  if (!std::isfinite(bound) || bound < 0)
    fail("static activation scale: bound {} is not finite and non-negative", bound);
  return std::max(bound / float(kActQMax), kActScaleFloor);
}

void quantize_static(std::span<const float> x, float delta, std::span<int8_t> q) {
  if (q.size() != x.size()) fail("quantize_static: {} inputs, {} outputs", x.size(), q.size());
  check_delta(delta, "quantize_static");
  check_finite(x, 0, "quantize_static");
  for (size_t i = 0; i < x.size(); ++i) q[i] = quant1(x[i], delta);
}

void fake_quant_static(std::span<float> x, float delta) {
  check_delta(delta, "fake_quant_static");
  check_finite(x, 0, "fake_quant_static");
  for (float& v : x) v = float(quant1(v, delta)) * delta;
}

float dynamic_act_scale(std::span<const float> row) {
  check_finite(row, 0, "dynamic activation scale");
  float amax = 0.0f;
  for (float v : row) amax = std::max(amax, std::fabs(v));
  return std::max(amax / float(kActQMax), kActScaleFloor);
}

float isolated_act_scale(std::span<const float> row, float delta) {
  check_delta(delta, "isolated activation scale");
  check_finite(row, 0, "isolated activation scale");
  float amax = 0.0f;
  for (float v : row) amax = std::max(amax, std::fabs(v));
  const float d = amax / float(kActQMax);
  return d > delta ? d : delta;
}

void fake_quant_static_isolated(std::span<float> x, int64_t k, float delta) {
  check_rows(x.size(), k, "fake_quant_static_isolated");
  check_delta(delta, "fake_quant_static_isolated");
  check_finite(x, k, "fake_quant_static_isolated");
  const size_t tokens = k > 0 ? x.size() / size_t(k) : 0;
  for (size_t t = 0; t < tokens; ++t) {
    const auto row = x.subspan(t * size_t(k), size_t(k));
    const float d = isolated_act_scale(row, delta);
    for (float& v : row) v = float(quant1(v, d)) * d;
  }
}

void quantize_dynamic(std::span<const float> x, int64_t k, std::span<int8_t> q,
                      std::span<float> scales) {
  check_rows(x.size(), k, "quantize_dynamic");
  const size_t tokens = k > 0 ? x.size() / size_t(k) : 0;
  if (q.size() != x.size() || scales.size() != tokens)
    fail("quantize_dynamic: x has {} rows of {}, q has {} values, scales {}", tokens, k,
         q.size(), scales.size());
  check_finite(x, k, "quantize_dynamic");
  for (size_t t = 0; t < tokens; ++t) {
    const auto row = x.subspan(t * size_t(k), size_t(k));
    const float d = dynamic_act_scale(row);
    scales[t] = d;
    for (size_t j = 0; j < row.size(); ++j) q[t * size_t(k) + j] = quant1(row[j], d);
  }
}

void fake_quant_dynamic(std::span<float> x, int64_t k) {
  check_rows(x.size(), k, "fake_quant_dynamic");
  check_finite(x, k, "fake_quant_dynamic");
  const size_t tokens = k > 0 ? x.size() / size_t(k) : 0;
  for (size_t t = 0; t < tokens; ++t) {
    const auto row = x.subspan(t * size_t(k), size_t(k));
    const float d = dynamic_act_scale(row);
    for (float& v : row) v = float(quant1(v, d)) * d;
  }
}

}  // namespace fptq::quant
