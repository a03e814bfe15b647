// Choosing the next token from logits: greedy (argmax) or seeded sampling
// with temperature, top-k and top-p (nucleus). Deterministic: a Sampler with
// the same parameters and seed picks the same tokens on every machine.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace fptq::model {

struct SamplingParams {
  float temperature = 0.0f;  // <= 0: greedy (argmax)
  int64_t top_k = 0;         // keep the k most likely tokens (<= 0: all)
  float top_p = 1.0f;        // keep the smallest set with probability mass >= top_p (>= 1: all)
  uint64_t seed = 42;        // seeds std::mt19937_64
};

// Index of the largest logit (the lowest index among equal maxima).
int32_t argmax(std::span<const float> logits);

class Sampler {
 public:
  // Throws fptq::Error for temperature NaN, top_p outside (0, 1].
  explicit Sampler(const SamplingParams& params);
  // The next token for `logits` [n_vocab] (n_vocab >= 1).
  int32_t sample(std::span<const float> logits);
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace fptq::model
