#include "model/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "model/profile.h"

namespace fptq::model {

int32_t argmax(std::span<const float> logits) {
  FPTQ_CHECK(!logits.empty());
  const OpTimer timer(OpClass::sampling);
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return int32_t(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (std::isnan(params.temperature)) fail("sampling temperature is NaN");
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    fail("top-p {} must be in (0, 1]", params.top_p);
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f) return argmax(logits);
  const OpTimer timer(OpClass::sampling);
  const int64_t n = int64_t(logits.size());
  FPTQ_CHECK(n >= 1);

  // Candidates by decreasing logit (ties: lower id first), cut to top-k.
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  const int64_t k = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), by_logit);
  ids.resize(size_t(k));

  // Softmax of logit / temperature, in double.
  std::vector<double> p(ids.size());
  const double mx = logits[size_t(ids[0])];
  double sum = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    p[i] = std::exp((double(logits[size_t(ids[i])]) - mx) / double(params_.temperature));
    sum += p[i];
  }
  for (double& v : p) v /= sum;

  // Top-p: the shortest prefix whose mass reaches top_p.
  size_t keep = p.size();
  if (params_.top_p < 1.0f) {
    double mass = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      mass += p[i];
      if (mass >= double(params_.top_p)) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept_mass = 0;
  for (size_t i = 0; i < keep; ++i) kept_mass += p[i];

  // u uniform in [0, kept_mass): 53 random bits, independent of the library's
  // distribution implementations.
  const double u = double(rng_() >> 11) * 0x1.0p-53 * kept_mass;
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (u < acc) return ids[i];
  }
  return ids[keep - 1];
}

}  // namespace fptq::model
