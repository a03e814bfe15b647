// The rounding bound the FP32 forward tests compare logits with.
#pragma once

#include <cstdint>
#include <limits>

#include "model/config.h"

namespace fptq::model {

// Worst-case FP32 rounding bound for logits that two evaluation orders of the
// same computation may disagree by: each layer sums dot products of length
// dim (q/k/v, gate/up), n_head·head_dim (W_o), ffn_dim (W_down) and up to
// n_tokens (attention), each within (length · eps) relative to the sum of
// |terms|, and the residual stream carries every layer's error to the head
// (a sum of length dim). Relative to the largest |logit|.
inline double logits_tolerance(const LlamaConfig& c, int64_t n_tokens, double max_abs_logit) {
  const double eps = std::numeric_limits<float>::epsilon();
  const double per_layer = double(c.dim + c.n_head * c.head_dim + c.ffn_dim + n_tokens);
  return (double(c.n_layer) * per_layer + double(c.dim)) * eps * max_abs_logit;
}

}  // namespace fptq::model
