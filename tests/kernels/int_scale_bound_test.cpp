// The overflow analysis of the W4A8 integer paths, as executable arithmetic
// (fptq-method.md §6), plus a worst-case run through every ISA.
//
//   |x_q| <= 128 (int8 input; the quantizers emit |x_q| <= 127),
//   |q| <= 8 (int4 code -8..7)          -> |x_q · q| <= 1024 = 2^10
//   |P_G| <= g · 2^10                   (int32 group partial)
//   |S_int| <= α = 2^10                 (S_int = nearbyint(α · s / max|s|))
//   |P_G · S_int| <= g · 2^20           (computed in int32: needs g < 2^11)
//   |Σ_G P_G · S_int| <= k · 2^20       (int64; int32 only for k < 2^11)
// The unsigned form Σ x_q · (q + 8) before the -8·Σx_q correction is bounded
// by g · 128 · 15 < 2^31 as well.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernel_test_util.h"
#include "kernels/matmul_w4a8.h"

namespace fptq::kernels {
namespace {

constexpr int64_t kMaxAbsX = 128;
constexpr int64_t kMaxAbsQ = 8;
constexpr int64_t kAlpha = 1024;
constexpr int64_t kMaxIntScaleGroup = 1024;  // what pack_w4 accepts with W4Scale::Integer
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

int64_t max_group_partial(int64_t g) { return g * kMaxAbsX * kMaxAbsQ; }

TEST(IntScaleBound, GroupPartialsFitInt32) {
  for (int64_t g : {32, 64, 128, 256, 1024, 4096, 16384}) {
    EXPECT_LE(max_group_partial(g), kInt32Max) << "g=" << g;
    EXPECT_LE(g * kMaxAbsX * 15, kInt32Max) << "unsigned form, g=" << g;  // before the correction
  }
}

TEST(IntScaleBound, ScaledPartialFitsInt32UpToAcceptedGroup) {
  EXPECT_LE(max_group_partial(kMaxIntScaleGroup) * kAlpha, kInt32Max);
  EXPECT_GT(max_group_partial(2 * kMaxIntScaleGroup) * kAlpha, kInt32Max)
      << "the accepted maximum group is tight at a power of two";
}

TEST(IntScaleBound, SumOverGroupsNeedsInt64ForLlamaShapes) {
  // Σ_G over k/g groups: k · 2^20.
  for (int64_t k : {576, 1536, 2047}) EXPECT_LE(k * kMaxAbsX * kMaxAbsQ * kAlpha, kInt32Max) << k;
  for (int64_t k : {2048, 4096, 11008}) {
    EXPECT_GT(k * kMaxAbsX * kMaxAbsQ * kAlpha, kInt32Max) << "int32 would overflow at k=" << k;
    EXPECT_LT(k * kMaxAbsX * kMaxAbsQ * kAlpha, std::numeric_limits<int64_t>::max() >> 20);
  }
}

class IntScaleWorstCase : public ::testing::TestWithParam<Isa> {};

// The largest sum the int64 path must carry: k = 11008 (LLaMA-7B down_proj
// input), g = 128, every x = -128, every q = -8, every scale equal (S = 1024):
// Σ = k · 2^20 = 11'542'724'608 > 2^31. The result must be exact.
TEST_P(IntScaleWorstCase, ExactBeyondInt32) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const int64_t n = 17, k = 11008, g = 128;
  std::vector<int8_t> codes(size_t(n * k), int8_t(-8)), x(size_t(2 * k), int8_t(-128));
  std::vector<float> scales(size_t(n * (k / g)), 0.5f);
  const PackedW4 w = pack_w4(codes.data(), scales.data(), n, k, g, W4Scale::Integer);
  const float a = 1.0f;
  std::vector<float> y(size_t(2 * n));
  ThreadPool pool(2);
  matmul_w4a8(x.data(), &a, 0, nullptr, w, y.data(), 2, pool, isa);
  const int64_t acc = k * kMaxAbsX * kMaxAbsQ * kAlpha;
  ASSERT_GT(acc, kInt32Max);
  const float want = (0.5f / 1024.0f) * float(acc);  // c · float(acc), a = 1
  for (float v : y) ASSERT_EQ(v, want);
  EXPECT_EQ(want, 0.5f * float(k * 1024));  // and it is the exact product
}

INSTANTIATE_TEST_SUITE_P(AllIsas, IntScaleWorstCase, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

}  // namespace
}  // namespace fptq::kernels
