// Quantization error metrics shared by tests, reports and the CLI.
#pragma once

#include <span>

namespace fptq::quant {

// Σ (approx − ref)² in double. Throws fptq::Error on a size mismatch.
double squared_error(std::span<const float> ref, std::span<const float> approx);

// Normalized MSE: Σ (approx − ref)² / Σ ref². 0 when both sums are 0;
// +inf when ref is all zero but approx is not. Throws on a size mismatch.
double nmse(std::span<const float> ref, std::span<const float> approx);

}  // namespace fptq::quant
