// Shared by the kernels tests: the ISAs to run, test sizes, misaligned
// buffers, seeded data, and a worst-element tolerance check.
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels::testing {

inline constexpr float kEps = FLT_EPSILON;  // 2^-23; unit roundoff u = kEps / 2

// Every ISA the library knows; tests skip those this machine cannot run.
inline const Isa kAllIsas[] = {Isa::Ref, Isa::Avx2, Isa::Avx512Vnni};

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
  return isa_name(info.param);
}

#define FPTQ_SKIP_IF_UNSUPPORTED(isa)                                                  \
  do {                                                                                 \
    if (!::fptq::kernels::isa_supported(isa))                                          \
      GTEST_SKIP() << "ISA " << ::fptq::kernels::isa_name(isa) << " unsupported here"; \
  } while (0)

// Vector lengths: 0, 1, around a 32-element quantization group, around
// 1, 2 and 4 vectors of 8 and 16 lanes (2*lanes+1 = 17, 33), and long ones.
inline const int64_t kVectorSizes[] = {0,  1,  2,  3,  7,  8,  9,   15,  16,  17,   31,  32,
                                       33, 47, 63, 64, 65, 95, 127, 129, 255, 1000, 4099};

// Floats starting `misalign` elements into a 64-byte aligned block, so
// misalign = 1 gives a pointer that is 4 bytes off every vector boundary.
class Buffer {
 public:
  Buffer(int64_t n, int misalign) : storage_(size_t(n + 16 + 16)), misalign_(misalign) {
    const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    base_ = int((64 - addr % 64) % 64 / sizeof(float));
    n_ = n;
  }
  float* data() { return storage_.data() + base_ + misalign_; }
  const float* data() const { return storage_.data() + base_ + misalign_; }
  float& operator[](int64_t i) { return data()[i]; }
  float operator[](int64_t i) const { return data()[i]; }
  int64_t size() const { return n_; }
  std::vector<float> to_vector() const { return std::vector<float>(data(), data() + n_); }

 private:
  std::vector<float> storage_;
  int base_ = 0;
  int misalign_ = 0;
  int64_t n_ = 0;
};

// Uniform values in [lo, hi) from a fixed seed.
inline void fill_uniform(float* p, int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < n; ++i) p[i] = dist(rng);
}

// The numerics contract (docs/numerics.md): actual[i] has the same bits as
// expected[i] for all i < n (any NaN equals any NaN: which operand's payload
// an instruction propagates is not part of the contract). On failure reports
// how many differ and the first: index, both values and their bit patterns.
inline ::testing::AssertionResult bits_equal(const float* expected, const float* actual,
                                             int64_t n) {
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(expected[i]) && std::isnan(actual[i])) continue;
    uint32_t e = 0, a = 0;
    std::memcpy(&e, expected + i, 4);
    std::memcpy(&a, actual + i, 4);
    if (e == a) continue;
    if (first < 0) first = i;
    ++bad;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  uint32_t e = 0, a = 0;
  std::memcpy(&e, expected + first, 4);
  std::memcpy(&a, actual + first, 4);
  char buf[96];
  std::snprintf(buf, sizeof buf, " (0x%08x vs 0x%08x)", unsigned(e), unsigned(a));
  return ::testing::AssertionFailure() << bad << " of " << n << " values differ in bits; first index "
                                       << first << ": expected " << expected[first] << ", actual "
                                       << actual[first] << buf;
}

// Checks |actual[i] - expected[i]| <= tol(i) for all i < n; on failure
// reports the element with the largest excess: index, expected, actual, tol.
inline ::testing::AssertionResult all_within(const float* expected, const float* actual, int64_t n,
                                             const std::function<double(int64_t)>& tol) {
  int64_t worst = -1;
  double worst_excess = 0.0;
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = expected[i], a = actual[i];
    const bool same_special = (std::isnan(e) && std::isnan(a)) || (std::isinf(e) && e == a);
    const double err = std::fabs(a - e);
    const double t = tol(i);
    if (same_special || err <= t) continue;
    ++bad;
    const double excess = std::isnan(err) ? INFINITY : err - t;
    if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << n << " elements out of tolerance; worst index " << worst
         << ": expected " << expected[worst] << ", actual " << actual[worst] << ", |diff| "
         << std::fabs(double(actual[worst]) - expected[worst]) << " > tol " << tol(worst);
}

}  // namespace fptq::kernels::testing
