// matmul_f32_grouped (the emulate engine's float twin of the integer
// kernels) on integer codes equals matmul_w4a8 / matmul_w8a8 bit for bit,
// under every ISA, for the engine's sizes: m around the register tiles, n
// around the 16/32-wide panels, k one and several groups; threads 1 and 2.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "kernel_test_util.h"
#include "kernels/matmul_f32.h"
#include "kernels/matmul_w4a8.h"
#include "kernels/matmul_w8a8.h"

namespace fptq::kernels {
namespace {

using testing::Buffer;

class MatmulF32Grouped : public ::testing::TestWithParam<Isa> {};

struct Shape {
  int64_t m, n, k, group;
};

const Shape kShapes[] = {{1, 1, 32, 32},    {1, 33, 64, 32},   {2, 31, 128, 64},
                         {1, 70, 576, 64},  {5, 17, 256, 128}, {7, 48, 96, 32},
                         {13, 65, 192, 64}, {15, 16, 64, 64},  {29, 100, 160, 32}};

// Worst case of the exactness argument: codes at their extremes.
void fill(std::vector<int8_t>& v, int lo, int hi, std::mt19937& rng) {
  for (auto& e : v) e = int8_t(lo + int(rng() % uint32_t(hi - lo + 1)));
}

// xg_group > 0: per-group activation scales of that width (a multiple of the
// weight group): the integer kernels and the float twin take the same ones.
void check(Isa isa, const Shape& s, bool w4, int threads, int misalign, int64_t xg_group = 0) {
  std::mt19937 rng(uint32_t(s.m * 131 + s.n * 7 + s.k + (w4 ? 1 : 0)));
  std::vector<int8_t> x(size_t(s.m * s.k)), codes(size_t(s.n * s.k));
  fill(x, -127, 127, rng);
  fill(codes, w4 ? -8 : -127, w4 ? 7 : 127, rng);
  const int64_t n_groups = s.k / s.group;
  std::vector<float> scales(size_t(s.n * n_groups));
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  for (auto& v : scales) v = d(rng);
  std::vector<float> a(size_t(s.m));
  for (auto& v : a) v = std::fabs(d(rng)) + 1e-3f;

  std::vector<float> xg;
  if (xg_group > 0) {
    std::uniform_real_distribution<float> dg(1e-4f, 0.5f);
    xg.resize(size_t(s.m * (s.k / xg_group)));
    for (auto& v : xg) v = dg(rng);
    a.assign(a.size(), 1.0f);  // the engine's per-row scale of a grouped point
  }
  const XGroupScales xs{xg_group > 0 ? xg.data() : nullptr, xg_group};

  ThreadPool pool(threads);
  std::vector<float> want(size_t(s.m * s.n));
  if (w4) {
    const PackedW4 p = pack_w4(codes.data(), scales.data(), s.n, s.k, s.group);
    matmul_w4a8(x.data(), a.data(), 1, nullptr, p, want.data(), s.m, pool, isa, xs);
  } else {
    const PackedW8 p = pack_w8(codes.data(), scales.data(), s.n, s.k, s.group);
    matmul_w8a8(x.data(), a.data(), 1, p, want.data(), s.m, pool, isa, xs);
  }

  Buffer xf(s.m * s.k, misalign), y(s.m * s.n, misalign);
  for (int64_t i = 0; i < s.m * s.k; ++i) xf[i] = float(x[size_t(i)]);
  std::vector<float> wf(codes.begin(), codes.end());
  const PackedF32 pf = pack_f32(wf.data(), s.n, s.k);
  std::vector<float> scales_t(scales.size());  // [n][G] -> [G][n]
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t G = 0; G < n_groups; ++G)
      scales_t[size_t(G * s.n + j)] = scales[size_t(j * n_groups + G)];
  if (xg_group > 0)  // the emulate engine passes no row scales for a grouped point
    matmul_f32_grouped(xf.data(), pf, scales_t.data(), s.group, nullptr, y.data(), s.m, pool, isa,
                       xs);
  else
    matmul_f32_grouped(xf.data(), pf, scales_t.data(), s.group, a.data(), y.data(), s.m, pool, isa);
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < s.m * s.n; ++i)
    if (f32_to_bits(want[size_t(i)]) != f32_to_bits(y[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  EXPECT_EQ(bad, 0) << (w4 ? "W4" : "W8") << " xg=" << xg_group << " m=" << s.m << " n=" << s.n << " k=" << s.k
                    << " g=" << s.group << " threads=" << threads << ": first at " << first
                    << " want " << (first >= 0 ? want[size_t(first)] : 0.0f) << " got "
                    << (first >= 0 ? y[first] : 0.0f);
}

TEST_P(MatmulF32Grouped, EqualsIntegerKernelsBitForBit) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (const Shape& s : kShapes)
    for (bool w4 : {true, false}) check(GetParam(), s, w4, s.m % 2 + 1, int(s.n % 2));
}

TEST_P(MatmulF32Grouped, PerGroupActivationScalesEqualIntegerKernelsBitForBit) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (const Shape& s : kShapes)
    for (bool w4 : {true, false})
      for (int64_t mult : {1, 2})
        if (s.k % (s.group * mult) == 0)
          check(GetParam(), s, w4, s.m % 2 + 1, int(s.n % 2), s.group * mult);
}

TEST_P(MatmulF32Grouped, WithoutRowScalesIsTheGroupedSum) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  // Float input, a == nullptr: y = Σ_G fma(P_G, s, f) within the sum bound.
  const int64_t m = 3, n = 40, k = 96, group = 32;
  Buffer x(m * k, 1);
  testing::fill_uniform(x.data(), m * k, 5);
  std::vector<float> w(size_t(n * k)), scales(size_t(n * (k / group)));
  testing::fill_uniform(w.data(), n * k, 6);
  testing::fill_uniform(scales.data(), int64_t(scales.size()), 7, 0.5f, 2.0f);
  const PackedF32 pf = pack_f32(w.data(), n, k);
  ThreadPool pool(2);
  std::vector<float> y(size_t(m * n));
  matmul_f32_grouped(x.data(), pf, scales.data(), group, nullptr, y.data(), m, pool, GetParam());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0, abs_sum = 0;
      for (int64_t t = 0; t < k; ++t) {
        const double v = double(x[i * k + t]) * w[size_t(j * k + t)] * scales[size_t((t / group) * n + j)];
        exact += v;
        abs_sum += std::fabs(v);
      }
      EXPECT_NEAR(y[size_t(i * n + j)], exact, 2.0 * (k + 2) * testing::kEps * abs_sum);
    }
}

TEST_P(MatmulF32Grouped, EmptyAndBadGroup) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  ThreadPool pool(1);
  std::vector<float> w(64, 1.0f), s(2, 1.0f), y(2, -1.0f);
  const PackedF32 pf = pack_f32(w.data(), 2, 32);
  matmul_f32_grouped(nullptr, pf, s.data(), 32, nullptr, y.data(), 0, pool, GetParam());
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_THROW(matmul_f32_grouped(w.data(), pf, s.data(), 5, nullptr, y.data(), 1, pool, GetParam()),
               Error);
  EXPECT_THROW(matmul_f32_grouped(w.data(), pf, s.data(), 32, nullptr, y.data(), -1, pool, GetParam()),
               Error);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, MatmulF32Grouped, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

}  // namespace
}  // namespace fptq::kernels
