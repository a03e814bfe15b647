// matmul_f32 / pack_f32 and the GEMM tile + GEMV kernels of every ISA,
// against the plain reference (kernels/ref/matmul_f32_ref.h) and ref twins.
#include "kernels/matmul_f32.h"

#include <gtest/gtest.h>

#include <cstring>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernel_test_util.h"
#include "kernels/ref/matmul_f32_ref.h"

namespace fptq::kernels {
namespace {

using testing::all_within;
using testing::bits_equal;
using testing::Buffer;
using testing::fill_uniform;
using testing::kEps;

// A k-term float sum in any fixed order, one rounding (u = eps/2) per step,
// is within k*u*sum|terms| of the exact sum; the ref twin rounds twice per
// step (multiply, add), 2*k*u. The double reference rounds once (u*|y|).
// So |y - y_ref| <= kSumErrorFactor * (k + 1) * eps * sum|x*w| with factor 1
// covers every ISA; 1 is the bound itself, not a fudge.
constexpr double kSumErrorFactor = 1.0;

double sum_tol(int64_t k, float abs_sum) {
  return kSumErrorFactor * double(k + 1) * kEps * abs_sum;
}

class MatmulF32 : public ::testing::TestWithParam<Isa> {};

struct Shape {
  int64_t m, n, k;
};

// Tails everywhere: m around the AVX2 (6) and AVX-512 (14) tiles and the
// 8-tile row block, n around the 32-wide panel, k around the 256 k-slice.
const Shape kShapes[] = {
    {1, 1, 1},   {1, 31, 17},  {1, 33, 256}, {1, 130, 257}, {1, 200, 33},  {2, 32, 32},
    {3, 65, 31}, {5, 17, 100}, {6, 64, 64},  {7, 96, 129},  {8, 100, 300}, {13, 31, 1},
    {14, 32, 8}, {15, 33, 65}, {29, 47, 33}, {84, 40, 20},  {113, 70, 47}, {125, 129, 513},
};

void check_matmul(Isa isa, const Shape& s, int misalign, int threads) {
  Buffer x(s.m * s.k, misalign), w(s.n * s.k, misalign), y(s.m * s.n, misalign);
  fill_uniform(x.data(), s.m * s.k, 1000 + uint32_t(s.m * 7 + s.k));
  fill_uniform(w.data(), s.n * s.k, 2000 + uint32_t(s.n * 5 + s.k));
  std::vector<float> y_ref(size_t(s.m * s.n)), abs_sum(size_t(s.m * s.n));
  ref::matmul_f32_unpacked_ref(x.data(), w.data(), y_ref.data(), s.m, s.n, s.k);
  ref::matmul_f32_abs_sum_ref(x.data(), w.data(), abs_sum.data(), s.m, s.n, s.k);

  const PackedF32 packed = pack_f32(w.data(), s.n, s.k);
  ASSERT_EQ(packed.n(), s.n);
  ASSERT_EQ(packed.k(), s.k);
  ThreadPool pool(threads);
  std::fill(y.data(), y.data() + s.m * s.n, -12345.0f);
  matmul_f32(x.data(), packed, y.data(), s.m, pool, isa);
  EXPECT_TRUE(all_within(y_ref.data(), y.data(), s.m * s.n,
                         [&](int64_t i) { return sum_tol(s.k, abs_sum[size_t(i)]); }))
      << "m=" << s.m << " n=" << s.n << " k=" << s.k << " misalign=" << misalign
      << " threads=" << threads;
  // The contract: every ISA gives the ref path's bits.
  std::vector<float> y_spec(size_t(s.m * s.n));
  matmul_f32(x.data(), packed, y_spec.data(), s.m, pool, Isa::Ref);
  EXPECT_TRUE(bits_equal(y_spec.data(), y.data(), s.m * s.n))
      << "m=" << s.m << " n=" << s.n << " k=" << s.k << " threads=" << threads;
}

TEST_P(MatmulF32, MatchesReferenceOnTailShapes) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (const Shape& s : kShapes)
    for (int misalign : {0, 1}) check_matmul(GetParam(), s, misalign, misalign + 1);
}

TEST_P(MatmulF32, EmptyShapes) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  ThreadPool pool(2);
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1};
  float y[4] = {7, 7, 7, 7};
  matmul_f32(x, pack_f32(w, 4, 1), y, 0, pool, GetParam());  // m = 0: nothing written
  EXPECT_EQ(y[0], 7.0f);
  matmul_f32(x, pack_f32(w, 0, 4), y, 1, pool, GetParam());  // n = 0: nothing written
  EXPECT_EQ(y[0], 7.0f);
  matmul_f32(x, pack_f32(nullptr, 2, 0), y, 2, pool, GetParam());  // k = 0: zeros
  for (float v : y) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(matmul_f32(x, pack_f32(w, 4, 1), y, -1, pool, GetParam()), Error);
}

// One thread, two, three: bit-identical outputs (each output is one
// fixed-order sum computed by one thread), for the GEMM and the GEMV.
TEST_P(MatmulF32, IndependentOfThreadCount) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  for (const Shape& s : {Shape{1, 300, 70}, Shape{40, 300, 300}, Shape{200, 97, 64}}) {
    std::vector<float> x(size_t(s.m * s.k)), w(size_t(s.n * s.k));
    fill_uniform(x.data(), s.m * s.k, 11);
    fill_uniform(w.data(), s.n * s.k, 12);
    const PackedF32 packed = pack_f32(w.data(), s.n, s.k);
    std::vector<float> y1(size_t(s.m * s.n));
    ThreadPool one(1);
    matmul_f32(x.data(), packed, y1.data(), s.m, one, GetParam());
    for (int threads : {2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> yt(y1.size());
      matmul_f32(x.data(), packed, yt.data(), s.m, pool, GetParam());
      EXPECT_EQ(0, std::memcmp(y1.data(), yt.data(), y1.size() * sizeof(float)))
          << "m=" << s.m << " threads=" << threads;
    }
  }
}

// Row i of a batched call equals the decode (m = 1) call on that row.
TEST_P(MatmulF32, BatchRowsEqualDecodeRows) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const int64_t m = 17, n = 70, k = 300;
  std::vector<float> x(size_t(m * k)), w(size_t(n * k)), y(size_t(m * n));
  std::vector<float> y1(static_cast<size_t>(n));
  fill_uniform(x.data(), m * k, 21);
  fill_uniform(w.data(), n * k, 22);
  const PackedF32 packed = pack_f32(w.data(), n, k);
  ThreadPool pool(2);
  matmul_f32(x.data(), packed, y.data(), m, pool, GetParam());
  for (int64_t i = 0; i < m; ++i) {
    matmul_f32(x.data() + i * k, packed, y1.data(), 1, pool, GetParam());
    EXPECT_EQ(0, std::memcmp(y.data() + i * n, y1.data(), size_t(n) * sizeof(float)))
        << "row " << i;
  }
}

// The register tile against its ref twin, every row count the ISA tiles
// with, partial panels, k = 0, and accumulation into existing y.
TEST_P(MatmulF32, GemmTileMatchesRefTwin) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const KernelTable& kt = kernels_for(GetParam());
  const int64_t mr = kt.gemm_mr, ldy = 37;
  for (int64_t kc : {0, 1, 7, 33}) {
    Buffer a(kc * mr + 1, 1), b(kc * kPanelWidth + 1, 1);
    fill_uniform(a.data(), kc * mr, 31);
    fill_uniform(b.data(), kc * kPanelWidth, 32);
    for (int rows = 1; rows <= mr; ++rows) {
      for (int cols : {1, 7, 8, 9, 15, 16, 17, 31, 32}) {
        for (bool accumulate : {false, true}) {
          std::vector<float> y0(size_t(mr * ldy));
          fill_uniform(y0.data(), mr * ldy, 33);
          std::vector<float> y_ref = y0, y = y0;
          ref::gemm_f32_micro(kc, a.data(), mr, b.data(), y_ref.data(), ldy, rows, cols,
                              accumulate);
          kt.gemm_f32_micro(kc, a.data(), mr, b.data(), y.data(), ldy, rows, cols, accumulate);
          // The contract: the same bits as the ref twin; untouched elements
          // (rows/cols beyond the tile) stay exactly y0.
          EXPECT_TRUE(bits_equal(y_ref.data(), y.data(), mr * ldy))
              << "kc=" << kc << " rows=" << rows << " cols=" << cols << " acc=" << accumulate;
        }
      }
    }
  }
}

TEST_P(MatmulF32, GemvMatchesRefTwin) {
  FPTQ_SKIP_IF_UNSUPPORTED(GetParam());
  const KernelTable& kt = kernels_for(GetParam());
  for (int64_t k : {1, 2, 17, 100}) {
    for (int64_t cols : {1, 16, 17, 32, 33, 64, 95, 96, 97, 160, 161}) {
      const int64_t n_panels = (cols + kPanelWidth - 1) / kPanelWidth;
      Buffer x(k, 1), b(n_panels * k * kPanelWidth, 0), y(cols + 1, 1), y_ref(cols + 1, 1);
      fill_uniform(x.data(), k, 41);
      fill_uniform(b.data(), n_panels * k * kPanelWidth, 42);
      y[cols] = y_ref[cols] = 99.0f;  // must survive
      ref::gemv_f32(k, x.data(), b.data(), n_panels, y_ref.data(), cols);
      kt.gemv_f32(k, x.data(), b.data(), n_panels, y.data(), cols);
      EXPECT_TRUE(bits_equal(y_ref.data(), y.data(), cols + 1))
          << "k=" << k << " cols=" << cols;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, MatmulF32, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

TEST(MatmulF32Simd, Avx2AndAvx512AgreeBitForBit) {
  if (!isa_supported(Isa::Avx2) || !isa_supported(Isa::Avx512Vnni))
    GTEST_SKIP() << "needs both AVX2 and AVX-512";
  const int64_t m = 50, n = 77, k = 301;
  std::vector<float> x(size_t(m * k)), w(size_t(n * k)), y2(size_t(m * n)), y5(size_t(m * n));
  fill_uniform(x.data(), m * k, 51);
  fill_uniform(w.data(), n * k, 52);
  const PackedF32 packed = pack_f32(w.data(), n, k);
  ThreadPool pool(2);
  for (int64_t rows : {int64_t(1), m}) {
    matmul_f32(x.data(), packed, y2.data(), rows, pool, Isa::Avx2);
    matmul_f32(x.data(), packed, y5.data(), rows, pool, Isa::Avx512Vnni);
    EXPECT_EQ(0, std::memcmp(y2.data(), y5.data(), size_t(rows * n) * sizeof(float))) << rows;
  }
}

TEST(PackF32, RejectsBadShapes) {
  float w[1] = {1};
  EXPECT_THROW(pack_f32(w, -1, 1), Error);
  EXPECT_THROW(pack_f32(w, 1, -1), Error);
  EXPECT_THROW(pack_f32(nullptr, 2, 2), Error);
  EXPECT_THROW(pack_f32(w, int64_t(1) << 30, int64_t(1) << 30), Error);
}

TEST(PackF32, DefaultIsEmptyAndMovable) {
  PackedF32 p;
  EXPECT_EQ(p.n(), 0);
  EXPECT_EQ(p.k(), 0);
  float w[6] = {1, 2, 3, 4, 5, 6};
  p = pack_f32(w, 2, 3);
  PackedF32 q = std::move(p);
  EXPECT_EQ(q.n(), 2);
  EXPECT_EQ(q.k(), 3);
}

}  // namespace
}  // namespace fptq::kernels
