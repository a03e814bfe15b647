// dot, axpy, rmsnorm, softmax and silu_mul of every ISA against their ref
// twins, over kVectorSizes and misaligned pointers.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/axpy_f32.h"
#include "kernels/dot_f32.h"
#include "kernels/rmsnorm_f32.h"
#include "kernels/silu_mul_f32.h"
#include "kernels/softmax_f32.h"

namespace fptq::kernels {
namespace {

using testing::all_within;
using testing::Buffer;
using testing::fill_uniform;
using testing::kEps;
using testing::kVectorSizes;

// A float sum of n terms in any order is within n*u*sum|terms| (u = eps/2)
// of the exact sum, so two orders differ by at most n*eps*sum|terms|.
constexpr double kSumOrderFactor = 1.0;
// Ulps (relative, in eps) by which the SIMD exp may differ from std::exp:
// the polynomial is ~1e-8 relative, its Horner steps and the final scaling
// add ~2 ulp, std::exp itself is within 1.
constexpr double kExpUlps = 4.0;
// Results below the smallest normal float may be flushed/rounded differently
// by the SIMD exp (subnormal range); absolute slack of one FLT_MIN.
constexpr double kSubnormalSlack = FLT_MIN;

class VectorF32 : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable& kt() { return kernels_for(GetParam()); }
};

TEST_P(VectorF32, Dot) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (int64_t n : kVectorSizes)
    for (int mis : {0, 1}) {
      Buffer a(n, mis), b(n, 1 - mis);
      fill_uniform(a.data(), n, 1 + uint32_t(n));
      fill_uniform(b.data(), n, 2 + uint32_t(n));
      double abs_sum = 0;
      for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(a[i] * b[i]);
      const float expected = ref::dot_f32(a.data(), b.data(), n);
      const float actual = kt().dot_f32(a.data(), b.data(), n);
      EXPECT_TRUE(
          all_within(&expected, &actual, 1,
                     [&](int64_t) { return kSumOrderFactor * double(n + 1) * kEps * abs_sum; }))
          << "n=" << n << " misalign=" << mis;
    }
}

TEST_P(VectorF32, Axpy) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const float alpha = -0.37f;
  for (int64_t n : kVectorSizes)
    for (int mis : {0, 1}) {
      Buffer x(n, mis), y(n + 1, 1 - mis);
      fill_uniform(x.data(), n, 3);
      fill_uniform(y.data(), n + 1, 4);
      std::vector<float> y0 = y.to_vector(), expected = y0;
      ref::axpy_f32(alpha, x.data(), expected.data(), n);
      kt().axpy_f32(alpha, x.data(), y.data(), n);
      // fma (one rounding) vs multiply-then-add (two): within
      // eps * (|alpha*x| + |y|). y[n] is past the end and must not change.
      EXPECT_TRUE(all_within(
          expected.data(), y.data(), n + 1,
          [&](int64_t i) {
            return i == n ? 0.0 : kEps * (std::fabs(alpha * x[i]) + std::fabs(y0[size_t(i)]));
          }))
          << "n=" << n << " misalign=" << mis;
    }
}

TEST_P(VectorF32, Rmsnorm) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const float eps = 1e-5f;
  for (int64_t n : kVectorSizes)
    for (int mis : {0, 1}) {
      Buffer x(n, mis), w(n, 1 - mis), out(n + 1, mis);
      fill_uniform(x.data(), n, 5, -3.0f, 3.0f);
      fill_uniform(w.data(), n, 6, 0.5f, 1.5f);
      out[n] = 42.0f;
      std::vector<float> expected(size_t(n + 1), 42.0f);
      ref::rmsnorm_f32(x.data(), w.data(), eps, expected.data(), n);
      kt().rmsnorm_f32(x.data(), w.data(), eps, out.data(), n);
      // Sum of squares: each side within n*u relative (positive terms), so
      // the scale (1/sqrt) within n*u/2 + ~4u; two output multiplies add 2u.
      // Per side (n/2 + 6)u; both sides: (n/2 + 6) * eps.
      EXPECT_TRUE(all_within(
          expected.data(), out.data(), n + 1,
          [&](int64_t i) {
            return i == n ? 0.0 : (0.5 * double(n) + 6) * kEps * std::fabs(expected[size_t(i)]);
          }))
          << "n=" << n << " misalign=" << mis;
      // In place gives the same bits as out-of-place.
      Buffer inplace(n, mis);
      std::copy(x.data(), x.data() + n, inplace.data());
      kt().rmsnorm_f32(inplace.data(), w.data(), eps, inplace.data(), n);
      EXPECT_TRUE(all_within(out.data(), inplace.data(), n, [](int64_t) { return 0.0; }));
    }
}

TEST_P(VectorF32, Softmax) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (int64_t n : kVectorSizes)
    for (int mis : {0, 1}) {
      Buffer x(n + 1, mis);
      fill_uniform(x.data(), n, 7, -20.0f, 20.0f);
      if (n > 3) x[n / 3] = -INFINITY;  // a masked position
      x[n] = 42.0f;
      std::vector<float> expected = x.to_vector();
      ref::softmax_f32(expected.data(), n);
      kt().softmax_f32(x.data(), n);
      // exp values within kExpUlps each, the sums within n*u each (positive),
      // the reciprocal and scaling 2u: (2*kExpUlps + n + 2) * eps relative.
      EXPECT_TRUE(all_within(expected.data(), x.data(), n + 1,
                             [&](int64_t i) {
                               return i == n ? 0.0
                                             : (2 * kExpUlps + double(n) + 2) * kEps *
                                                       expected[size_t(i)] +
                                                   kSubnormalSlack;
                             }))
          << "n=" << n << " misalign=" << mis;
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += x[i];
      if (n > 0) {
        EXPECT_NEAR(sum, 1.0, double(n + 4) * kEps) << "n=" << n;
      }
      if (n > 3) {
        EXPECT_EQ(x[n / 3], 0.0f);
      }
    }
}

TEST_P(VectorF32, SiluMul) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (int64_t n : kVectorSizes)
    for (int mis : {0, 1}) {
      Buffer gate(n, mis), up(n, 1 - mis), out(n + 1, mis);
      fill_uniform(gate.data(), n, 8, -12.0f, 12.0f);
      fill_uniform(up.data(), n, 9, -2.0f, 2.0f);
      out[n] = 42.0f;
      std::vector<float> expected(size_t(n + 1), 42.0f);
      ref::silu_mul_f32(gate.data(), up.data(), expected.data(), n);
      kt().silu_mul_f32(gate.data(), up.data(), out.data(), n);
      // exp within kExpUlps; 1 + e, the divide and the multiply u each
      // (both sides): (kExpUlps + 3) * eps relative.
      EXPECT_TRUE(all_within(expected.data(), out.data(), n + 1,
                             [&](int64_t i) {
                               return i == n
                                          ? 0.0
                                          : (kExpUlps + 3) * kEps * std::fabs(expected[size_t(i)]) +
                                                kSubnormalSlack;
                             }))
          << "n=" << n << " misalign=" << mis;
    }
}

// The exp inside silu over its whole range: tiny, huge (exp overflow gives
// silu(g) -> -0 for g << 0), and everything between.
TEST_P(VectorF32, SiluMulWholeRange) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const int64_t n = 4001;
  const size_t count = 4001;
  std::vector<float> gate(count), up(count, 1.0f), out(count), expected(count);
  for (size_t i = 0; i < count; ++i) gate[i] = -120.0f + 240.0f * float(i) / float(count - 1);
  ref::silu_mul_f32(gate.data(), up.data(), expected.data(), n);
  kt().silu_mul_f32(gate.data(), up.data(), out.data(), n);
  EXPECT_TRUE(all_within(expected.data(), out.data(), n, [&](int64_t i) {
    return (kExpUlps + 3) * kEps * std::fabs(expected[size_t(i)]) + kSubnormalSlack;
  }));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, VectorF32, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

// The public wrappers run the active ISA's kernels.
TEST(VectorF32Public, WrappersUseActiveIsa) {
  const KernelTable& k = active_kernels();
  std::vector<float> a(37), b(37);
  fill_uniform(a.data(), 37, 10);
  fill_uniform(b.data(), 37, 11);
  EXPECT_EQ(dot_f32(a.data(), b.data(), 37), k.dot_f32(a.data(), b.data(), 37));
  std::vector<float> y1 = b, y2 = b;
  axpy_f32(0.5f, a.data(), y1.data(), 37);
  k.axpy_f32(0.5f, a.data(), y2.data(), 37);
  EXPECT_EQ(y1, y2);
  rmsnorm_f32(a.data(), b.data(), 1e-6f, y1.data(), 37);
  k.rmsnorm_f32(a.data(), b.data(), 1e-6f, y2.data(), 37);
  EXPECT_EQ(y1, y2);
  silu_mul_f32(a.data(), b.data(), y1.data(), 37);
  k.silu_mul_f32(a.data(), b.data(), y2.data(), 37);
  EXPECT_EQ(y1, y2);
  y1 = a, y2 = a;
  softmax_f32(y1.data(), 37);
  k.softmax_f32(y2.data(), 37);
  EXPECT_EQ(y1, y2);
}

}  // namespace
}  // namespace fptq::kernels
