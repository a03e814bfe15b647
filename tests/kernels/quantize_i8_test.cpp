// Int8 activation quantizers of every ISA against the ref twins (bit-exact),
// the fused RMSNorm / SiLU·up forms against "f32 op then quantize" of the
// same ISA (bit-exact), and the per-group activation sums (exact).
#include "kernels/quantize_i8.h"

#include <gtest/gtest.h>

#include <cfloat>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "kernel_test_util.h"

namespace fptq::kernels {
namespace {

using testing::Buffer;
using testing::fill_uniform;
using testing::kVectorSizes;

// Exact comparison of int8 rows; reports the first differing index.
::testing::AssertionResult same_i8(const int8_t* expected, const int8_t* actual, int64_t n,
                                   const float* input) {
  for (int64_t i = 0; i < n; ++i)
    if (expected[i] != actual[i])
      return ::testing::AssertionFailure()
             << "index " << i << " (input " << (input ? input[i] : 0.0f) << "): expected "
             << int(expected[i]) << ", actual " << int(actual[i]);
  return ::testing::AssertionSuccess();
}

// Row data exercising the rounding rule: random values, exact ties at the
// static Δ used below (x / Δ = j + 0.5), saturating values, ±0, ±Inf, NaN.
void fill_row(float* x, int64_t n, uint32_t seed, float delta) {
  fill_uniform(x, n, seed, -3.0f, 3.0f);
  for (int64_t i = 0; i < n; ++i) {
    switch (i % 11) {
      case 3: x[i] = (float(int(i % 300) - 150) + 0.5f) * delta; break;  // exact tie
      case 5: x[i] = i % 2 ? 1e6f : -1e6f; break;                       // saturates
      case 7: x[i] = i % 4 == 3 ? -0.0f : 0.0f; break;
      default: break;
    }
  }
}

void add_specials(float* x, int64_t n) {
  if (n > 2) x[n / 2] = INFINITY;
  if (n > 4) x[n / 3] = -INFINITY;
  if (n > 6) x[n - 2] = NAN;
}

class QuantizeI8 : public ::testing::TestWithParam<Isa> {};

TEST_P(QuantizeI8, RowMatchesRefBitForBit) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const KernelTable& kt = kernels_for(isa);
  const KernelTable& rt = ref::table();
  const float kDelta = 0.0234375f;  // 3/128: ties x/Δ = j + 0.5 are exact
  for (int64_t n : kVectorSizes)
    for (int misalign : {0, 1})
      for (bool specials : {false, true})
        // Static, dynamic, static with isolation (the row max 1e6 exceeds
        // 127Δ: the row's own scale) and isolation that keeps the static Δ.
        // Tiny and subnormal static scales (x / Δ overflows to ±Inf and
        // saturates) are part of the contract too.
        for (float delta : {kDelta, 0.0f, -kDelta, -1e5f, FLT_MIN, 1e-40f, -1e-40f}) {
          Buffer x(n, misalign);
          fill_row(x.data(), n, uint32_t(n * 3 + misalign), kDelta);
          if (specials) add_specials(x.data(), n);
          if (n > 9) x[9] = 1e-40f, x[n - 1] = -3e-39f;  // subnormal inputs
          std::vector<int8_t> want(size_t(n) + 1), got(size_t(n) + 2, int8_t(99));
          const float dw = rt.quantize_row_i8(x.data(), delta, want.data(), n);
          const float dg = kt.quantize_row_i8(x.data(), delta, got.data() + misalign, n);
          SCOPED_TRACE(::testing::Message() << "n=" << n << " misalign=" << misalign
                                            << " delta=" << delta << " specials=" << specials);
          EXPECT_EQ(f32_to_bits(dw), f32_to_bits(dg)) << "scale: expected " << dw << ", actual " << dg;
          EXPECT_TRUE(same_i8(want.data(), got.data() + misalign, n, x.data()));
          EXPECT_EQ(got[size_t(n + misalign)], 99) << "wrote past the row";
        }
}

TEST_P(QuantizeI8, RuleOnKnownValues) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 127.5f, -200.0f, INFINITY, -INFINITY, NAN,
                     -0.0f, 0.49999997f};
  const int8_t want[] = {0, 2, 2, 0, -2, 127, -127, 127, -127, 0, 0, 0};
  int8_t got[12];
  const float d = kernels_for(isa).quantize_row_i8(x, 1.0f, got, 12);
  EXPECT_EQ(d, 1.0f);
  EXPECT_TRUE(same_i8(want, got, 12, x));
  // Dynamic: Δ from the finite values only; a zero row gets the 1e-8 floor.
  const float y[] = {1.0f, -254.0f, NAN, INFINITY, 3.0f};
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(y, 0.0f, got, 5), 2.0f);
  const float z[] = {0.0f, -0.0f, 0.0f};
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(z, 0.0f, got, 3), 1e-8f);
  // Isolation (delta < 0): the static Δ = 1 unless the row needs more.
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(y, -1.0f, got, 5), 2.0f);  // 254 / 127
  EXPECT_EQ(got[1], -127);
  EXPECT_EQ(got[4], 2);  // 3 / 2 = 1.5 -> 2 (half to even)
  const float small[] = {1.0f, -100.0f, 3.0f};
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(small, -1.0f, got, 3), 1.0f);  // fits: static Δ
  EXPECT_EQ(got[1], -100);
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(z, -0.5f, got, 3), 0.5f);
  EXPECT_EQ(kernels_for(isa).quantize_row_i8(z, -0.5f, got, 0), 0.5f);
}

TEST_P(QuantizeI8, FusedRmsnormEqualsRmsnormThenQuantize) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t n : kVectorSizes)
    for (int misalign : {0, 1})
      for (float delta : {0.01f, 0.0f, -0.01f, -100.0f}) {
        Buffer x(n, misalign), w(n, misalign), tmp(n, 0);
        fill_uniform(x.data(), n, uint32_t(77 + n), -4.0f, 4.0f);
        fill_uniform(w.data(), n, uint32_t(78 + n), 0.5f, 2.0f);
        std::vector<int8_t> want(size_t(n) + 1), got(size_t(n) + 1);
        kt.rmsnorm_f32(x.data(), w.data(), 1e-5f, tmp.data(), n);
        const float dw = kt.quantize_row_i8(tmp.data(), delta, want.data(), n);
        const float dg = kt.rmsnorm_quantize_row_i8(x.data(), w.data(), 1e-5f, delta, got.data(), n);
        SCOPED_TRACE(::testing::Message() << "n=" << n << " misalign=" << misalign << " delta=" << delta);
        EXPECT_EQ(f32_to_bits(dw), f32_to_bits(dg));
        EXPECT_TRUE(same_i8(want.data(), got.data(), n, tmp.data()));
      }
}

TEST_P(QuantizeI8, FusedSiluMulEqualsSiluMulThenQuantize) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t n : kVectorSizes)
    for (int misalign : {0, 1})
      for (float delta : {0.02f, 0.0f, -0.02f, -100.0f}) {
        Buffer g(n, misalign), u(n, misalign), tmp(n, 0);
        fill_uniform(g.data(), n, uint32_t(91 + n), -8.0f, 8.0f);
        fill_uniform(u.data(), n, uint32_t(92 + n), -3.0f, 3.0f);
        std::vector<int8_t> want(size_t(n) + 1), got(size_t(n) + 1);
        kt.silu_mul_f32(g.data(), u.data(), tmp.data(), n);
        const float dw = kt.quantize_row_i8(tmp.data(), delta, want.data(), n);
        const float dg = kt.silu_mul_quantize_row_i8(g.data(), u.data(), delta, got.data(), n);
        SCOPED_TRACE(::testing::Message() << "n=" << n << " misalign=" << misalign << " delta=" << delta);
        EXPECT_EQ(f32_to_bits(dw), f32_to_bits(dg));
        EXPECT_TRUE(same_i8(want.data(), got.data(), n, tmp.data()));
      }
}

TEST_P(QuantizeI8, GroupSumsExact) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  std::mt19937 rng(5);
  for (int64_t group : {1, 7, 32, 64, 128})
    for (int64_t n_groups : {0, 1, 2, 5})
      for (int misalign : {0, 1, 3}) {
        const int64_t k = group * n_groups;
        std::vector<int8_t> q(size_t(k + 3));
        for (auto& v : q) v = int8_t(int(rng() % 256) - 128);
        if (k > 0) q[size_t(misalign)] = -128;
        std::vector<int32_t> want(static_cast<size_t>(n_groups)), got(static_cast<size_t>(n_groups));
        ref::group_sums_i8(q.data() + misalign, k, group, want.data());
        kernels_for(isa).group_sums_i8(q.data() + misalign, k, group, got.data());
        EXPECT_EQ(want, got) << "group=" << group << " groups=" << n_groups;
      }
  // All -128 over a big group: the extreme sum.
  std::vector<int8_t> q(1024, int8_t(-128));
  int32_t s = 0;
  kernels_for(isa).group_sums_i8(q.data(), 1024, 1024, &s);
  EXPECT_EQ(s, -128 * 1024);
}

TEST_P(QuantizeI8, RowsApiChecksArguments) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  float x[4] = {1, 2, 3, 4}, scales[2];
  int8_t q[4];
  EXPECT_THROW(quantize_rows_i8(x, 1, 4, ActQuant::fixed(-1.0f), q, scales, isa), Error);
  EXPECT_THROW(quantize_rows_i8(x, 1, 4, ActQuant::fixed(NAN), q, scales, isa), Error);
  EXPECT_THROW(quantize_rows_i8(x, -1, 4, ActQuant::dynamic(), q, scales, isa), Error);
  EXPECT_THROW(quantize_rows_i8(x, 1, 4, ActQuant{0.0f, true}, q, scales, isa), Error);
  EXPECT_THROW(quantize_rows_i8(x, 1, 4, ActQuant::fixed_isolated(-1.0f), q, scales, isa), Error);
  quantize_rows_i8(x, 2, 2, ActQuant::dynamic(), q, scales, isa);
  EXPECT_EQ(scales[0], 2.0f / 127.0f);
  EXPECT_EQ(scales[1], 4.0f / 127.0f);
  int32_t sums[2];
  EXPECT_THROW(group_sums_rows_i8(q, 1, 4, 3, sums, isa), Error);
}

// Grouped dynamic mode: each chunk of a row is the ref quantizer's own dynamic
// row (codes and Δ bit for bit), the per-row scale is 1, and the fused forms
// equal the f32 op followed by the same chunks.
TEST_P(QuantizeI8, PerGroupDynamicRowsAreChunkedDynamicRows) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const KernelTable& kt = kernels_for(isa);
  for (int64_t group : {32, 64})
    for (int64_t k : {group, 3 * group, int64_t(576)}) {
      if (k % group != 0) continue;
      const int64_t m = 3, ng = k / group;
      std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(k)), u(static_cast<size_t>(m * k)), tmp(static_cast<size_t>(k));
      fill_uniform(x.data(), m * k, uint32_t(k + group), -3.0f, 3.0f);
      fill_uniform(u.data(), m * k, uint32_t(k + 1), -2.0f, 2.0f);
      fill_uniform(w.data(), k, uint32_t(k + 2), 0.5f, 2.0f);
      x[size_t(k + 5)] = 900.0f;  // a massive channel: coarsens only its own group
      for (int form = 0; form < 3; ++form) {
        SCOPED_TRACE(::testing::Message() << "group=" << group << " k=" << k << " form=" << form);
        std::vector<int8_t> q(static_cast<size_t>(m * k)), want(static_cast<size_t>(k));
        std::vector<float> scales(static_cast<size_t>(m)), gs(static_cast<size_t>(m * ng));
        const ActQuant mode = ActQuant::dynamic_grouped(group);
        if (form == 0)
          quantize_rows_i8(x.data(), m, k, mode, q.data(), scales.data(), isa, gs.data());
        else if (form == 1)
          rmsnorm_quantize_rows_i8(x.data(), w.data(), 1e-5f, m, k, mode, q.data(), scales.data(),
                                   isa, gs.data());
        else
          silu_mul_quantize_rows_i8(x.data(), u.data(), m, k, mode, q.data(), scales.data(), isa,
                                    gs.data());
        for (int64_t r = 0; r < m; ++r) {
          EXPECT_EQ(scales[size_t(r)], 1.0f);
          const float* row = x.data() + r * k;
          if (form == 1) kt.rmsnorm_f32(row, w.data(), 1e-5f, tmp.data(), k), row = tmp.data();
          if (form == 2) kt.silu_mul_f32(row, u.data() + r * k, tmp.data(), k), row = tmp.data();
          for (int64_t j = 0; j < ng; ++j) {
            const float d = ref::quantize_row_i8(row + j * group, 0.0f, want.data(), group);
            EXPECT_EQ(f32_to_bits(d), f32_to_bits(gs[size_t(r * ng + j)])) << r << " " << j;
            EXPECT_TRUE(same_i8(want.data(), q.data() + r * k + j * group, group, row + j * group));
          }
        }
      }
      // The massive value sets Δ of its own group only.
      std::vector<int8_t> q(static_cast<size_t>(m * k));
      std::vector<float> scales(static_cast<size_t>(m)), gs(static_cast<size_t>(m * ng));
      quantize_rows_i8(x.data(), m, k, ActQuant::dynamic_grouped(group), q.data(), scales.data(),
                       isa, gs.data());
      EXPECT_EQ(gs[size_t(ng)], 900.0f / 127.0f);
      if (ng > 1) EXPECT_LT(gs[size_t(ng + 1)], 3.0f / 127.0f * 1.0001f);
    }
  float x[64] = {}, scales[1], gs[2];
  int8_t q[64];
  EXPECT_THROW(quantize_rows_i8(x, 1, 64, ActQuant::dynamic_grouped(48), q, scales, isa, gs), Error);
  EXPECT_THROW(quantize_rows_i8(x, 1, 64, ActQuant::dynamic_grouped(32), q, scales, isa), Error);
  EXPECT_THROW(quantize_rows_i8(x, 1, 64, ActQuant{0.5f, false, 32}, q, scales, isa, gs), Error);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantizeI8, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

}  // namespace
}  // namespace fptq::kernels
