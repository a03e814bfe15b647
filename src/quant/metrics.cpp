#include "quant/metrics.h"

#include <limits>

#include "core/error.h"

namespace fptq::quant {

double squared_error(std::span<const float> ref, std::span<const float> approx) {
  if (ref.size() != approx.size())
    fail("squared_error: {} reference values, {} approximations", ref.size(), approx.size());
  double e = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(approx[i]) - double(ref[i]);
    e += d * d;
  }
  return e;
}

double nmse(std::span<const float> ref, std::span<const float> approx) {
  const double e = squared_error(ref, approx);
  double s = 0.0;
  for (float r : ref) s += double(r) * double(r);
  if (s == 0.0) return e == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return e / s;
}

}  // namespace fptq::quant
