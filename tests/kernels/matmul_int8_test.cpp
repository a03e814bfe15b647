// W4A8 and W8A8 matrix products of every ISA against a plain implementation
// of the spec (fptq-method.md §6) written here from unpacked codes: integer
// group partials exact, and the float results bit-identical (the defined
// sequence f = fma(float(P_G), s, f), y = a·f; integer scale: int64 sum).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/ggml_blocks.h"
#include "kernel_test_util.h"
#include "kernels/matmul_w4a8.h"
#include "kernels/matmul_w8a8.h"
#include "kernels/quantize_i8.h"

namespace fptq::kernels {
namespace {

struct Problem {
  int64_t m, n, k, group;
  std::vector<int8_t> x;      // [m][k]
  std::vector<int8_t> codes;  // [n][k]
  std::vector<float> scales;  // [n][k/group]
  std::vector<float> a;       // [m]
};

Problem make_problem(int64_t m, int64_t n, int64_t k, int64_t group, bool w4, uint32_t seed) {
  Problem p{m, n, k, group, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  p.x.resize(size_t(m * k));
  for (auto& v : p.x) v = int8_t(int(rng() % 256) - 128);  // -128 included: valid int8 input
  p.codes.resize(size_t(n * k));
  for (auto& v : p.codes) v = w4 ? int8_t(int(rng() % 16) - 8) : int8_t(int(rng() % 255) - 127);
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  p.scales.resize(size_t(n * (k / group)));
  for (auto& v : p.scales) v = d(rng);
  p.a.resize(size_t(m));
  for (auto& v : p.a) v = std::fabs(d(rng)) + 1e-3f;
  return p;
}

void round_scales_to_fp16(Problem& p) {
  for (auto& v : p.scales) v = fp16_to_f32(f32_to_fp16(v));
}

// The spec, from unpacked codes. a_i = a[i·stride]. With per-group
// activation scales xg ([m][k/xg_group], float mode): group g of row i folds
// with the rounded product s · xg[i][g·group / xg_group].
std::vector<float> spec(const Problem& p, int64_t a_stride, bool int_scale,
                        const std::vector<float>* xg = nullptr, int64_t xg_group = 0) {
  const int64_t G = p.k / p.group;
  std::vector<float> y(size_t(p.m * p.n));
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      float f = 0.0f;
      int64_t acc = 0;
      float smax = 0.0f;
      for (int64_t g = 0; g < G; ++g) smax = std::max(smax, std::fabs(p.scales[size_t(j * G + g)]));
      for (int64_t g = 0; g < G; ++g) {
        int64_t pg = 0;
        for (int64_t t = g * p.group; t < (g + 1) * p.group; ++t)
          pg += int64_t(p.x[size_t(i * p.k + t)]) * p.codes[size_t(j * p.k + t)];
        float s = p.scales[size_t(j * G + g)];
        if (xg != nullptr) s = s * (*xg)[size_t(i * (p.k / xg_group) + g * p.group / xg_group)];
        if (int_scale)
          acc += pg * (smax > 0 ? int64_t(std::nearbyint(s / smax * 1024.0f)) : 0);
        else
          f = std::fma(float(pg), s, f);
      }
      if (int_scale) f = (smax / 1024.0f) * float(acc);
      y[size_t(i * p.n + j)] = p.a[size_t(i * a_stride)] * f;
    }
  return y;
}

// Bit-for-bit comparison; reports the worst index.
::testing::AssertionResult same_bits(const std::vector<float>& want, const float* got, int64_t n) {
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < n; ++i)
    if (f32_to_bits(want[size_t(i)]) != f32_to_bits(got[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << n << " outputs differ; first index "
                                       << first << ": expected " << want[size_t(first)]
                                       << ", actual " << got[first];
}

struct Shape {
  int64_t m, n, k, group;
};
// m around the tiles (4 ref/avx2, 6 avx512) and the 96-row block; n around
// the 16-column panel, 32 columns (a pass of more than 2 rows) and the
// 64-column tile (one pass of the 1-2 row decode tiles); k = one and several
// groups.
const Shape kW4Shapes[] = {
    {0, 16, 32, 32},  {1, 1, 32, 32},    {1, 15, 64, 32},  {1, 17, 96, 32},  {2, 31, 128, 64},
    {3, 33, 160, 32}, {4, 32, 256, 128}, {5, 47, 64, 32},  {6, 64, 384, 128}, {7, 65, 32, 32},
    {13, 100, 96, 32}, {97, 40, 64, 32}, {1, 5, 0, 32},    {2, 48, 512, 256}, {3, 16, 1024, 1024},
    {1, 63, 64, 32},  {1, 65, 96, 32},   {2, 129, 64, 64}, {1, 200, 576, 64}, {2, 64, 160, 32},
};

class MatmulInt8 : public ::testing::TestWithParam<Isa> {};

TEST_P(MatmulInt8, W4A8MatchesSpecBitForBit) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (const Shape& s : kW4Shapes)
    for (W4Scale mode : {W4Scale::Float, W4Scale::Integer})
      for (int64_t a_stride : {1, 0})
        for (int threads : {1, 2, 3}) {
          SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k << " g="
                                            << s.group << " int_scale=" << (mode == W4Scale::Integer)
                                            << " a_stride=" << a_stride << " threads=" << threads);
          // Even thread counts: scales rounded to fp16 (the compact packing
          // the Q4_0 files get); odd: arbitrary f32 scales.
          Problem p = make_problem(s.m, s.n, s.k, s.group, true, uint32_t(s.m * 131 + s.n * 7 + s.k));
          if (threads % 2 == 0) round_scales_to_fp16(p);
          const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), s.n, s.k, s.group, mode);
          const auto want = spec(p, a_stride, mode == W4Scale::Integer);
          ThreadPool pool(threads);
          // Misaligned x (1 byte) and y (1 float); group sums given and computed.
          std::vector<int8_t> xbuf(p.x.size() + 1);
          if (!p.x.empty()) std::memcpy(xbuf.data() + 1, p.x.data(), p.x.size());
          std::vector<int32_t> sums(size_t(s.m * (s.k / s.group)));
          if (s.k > 0) group_sums_rows_i8(xbuf.data() + 1, s.m, s.k, s.group, sums.data(), isa);
          for (bool given : {false, true}) {
            std::vector<float> y(size_t(s.m * s.n) + 2, -7.0f);
            matmul_w4a8(xbuf.data() + 1, p.a.data(), a_stride, given ? sums.data() : nullptr, w,
                        y.data() + 1, s.m, pool, isa);
            EXPECT_TRUE(same_bits(want, y.data() + 1, s.m * s.n)) << "sums given=" << given;
            EXPECT_EQ(y[0], -7.0f);
            EXPECT_EQ(y.back(), -7.0f);
          }
        }
}

TEST_P(MatmulInt8, W4A8ExtremesExact) {
  // Every product at its largest magnitude: x = -128, q = -8 -> P_G = g·1024.
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (int64_t g : {32, 128, 1024}) {
    Problem p = make_problem(7, 33, 2 * g, g, true, 9);
    std::fill(p.x.begin(), p.x.end(), int8_t(-128));
    std::fill(p.codes.begin(), p.codes.end(), int8_t(-8));
    for (auto& v : p.scales) v = 1.0f;
    const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), p.n, p.k, g);
    std::vector<float> y(size_t(p.m * p.n));
    ThreadPool pool(2);
    matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), p.m, pool, isa);
    EXPECT_TRUE(same_bits(spec(p, 1, false), y.data(), p.m * p.n));
    EXPECT_EQ(y[0], p.a[0] * float(2 * g * 1024));
  }
}

// The IQ4_NL grid: the spec of the problem whose codes are the levels.
Problem with_nl_levels(Problem p) {
  for (auto& v : p.codes) v = io::kIq4NlValues[v + 8];
  return p;
}

TEST_P(MatmulInt8, W4A8NlMatchesSpecBitForBit) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (const Shape& s : kW4Shapes)
    for (int64_t a_stride : {1, 0})
      for (int threads : {1, 2}) {
        SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k << " g="
                                          << s.group << " a_stride=" << a_stride
                                          << " threads=" << threads);
        // threads 2: fp16 scales (the compact packing IQ4_NL files get).
        Problem p = make_problem(s.m, s.n, s.k, s.group, true, uint32_t(s.m * 131 + s.n * 7 + s.k + 5));
        if (threads == 2) round_scales_to_fp16(p);
        const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), s.n, s.k, s.group,
                                   W4Scale::Float, W4Grid::Nl);
        EXPECT_EQ(w.grid(), W4Grid::Nl);
        const auto want = spec(with_nl_levels(p), a_stride, false);
        ThreadPool pool(threads);
        for (bool given : {false, true}) {
          std::vector<int32_t> sums(size_t(s.m * (s.k / s.group)));
          if (s.k > 0) group_sums_rows_i8(p.x.data(), s.m, s.k, s.group, sums.data(), isa);
          std::vector<float> y(size_t(s.m * s.n) + 1, -7.0f);
          matmul_w4a8(p.x.data(), p.a.data(), a_stride, given ? sums.data() : nullptr, w, y.data(),
                      s.m, pool, isa);
          EXPECT_TRUE(same_bits(want, y.data(), s.m * s.n)) << "sums given=" << given;
          EXPECT_EQ(y.back(), -7.0f);
        }
      }
}

TEST_P(MatmulInt8, W4A8NlExtremesExact) {
  // The largest products: x = -128 against the level -127, and x = 127
  // against 113 and -127, over groups up to 1024.
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (int64_t g : {32, 256, 1024})
    for (int8_t xv : {int8_t(-128), int8_t(127)})
      for (int8_t code : {int8_t(-8), int8_t(7)}) {
        Problem p = make_problem(7, 33, 2 * g, g, true, 11);
        std::fill(p.x.begin(), p.x.end(), xv);
        std::fill(p.codes.begin(), p.codes.end(), code);
        for (auto& v : p.scales) v = 1.0f;
        const PackedW4 w =
            pack_w4(p.codes.data(), p.scales.data(), p.n, p.k, g, W4Scale::Float, W4Grid::Nl);
        std::vector<float> y(size_t(p.m * p.n));
        ThreadPool pool(2);
        matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), p.m, pool, isa);
        EXPECT_TRUE(same_bits(spec(with_nl_levels(p), 1, false), y.data(), p.m * p.n));
        EXPECT_EQ(y[0], p.a[0] * float(2 * g * int(xv) * io::kIq4NlValues[code + 8]));
      }
}

TEST_P(MatmulInt8, W4A8NlFromIq4NlBlocks) {
  // IQ4_NL blocks (Q4_0's bytes) packed with the Nl grid equal the codes packed directly.
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const int64_t m = 3, n = 40, k = 128, g = 64;
  Problem p = make_problem(m, n, k, g, true, 21);
  round_scales_to_fp16(p);
  std::vector<io::BlockQ4_0> blocks(size_t(n * k / 32));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < k / 32; ++b) {
      io::BlockQ4_0& blk = blocks[size_t(j * (k / 32) + b)];
      blk.d = f32_to_fp16(p.scales[size_t(j * (k / g) + b * 32 / g)]);
      for (int e = 0; e < 16; ++e)
        blk.qs[e] = uint8_t((p.codes[size_t(j * k + b * 32 + e)] + 8) |
                            ((p.codes[size_t(j * k + b * 32 + e + 16)] + 8) << 4));
    }
  const PackedW4 w = pack_w4_from_q4_0(blocks.data(), n, k, g, W4Scale::Float, W4Grid::Nl);
  std::vector<float> y(size_t(m * n));
  ThreadPool pool(1);
  matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), m, pool, isa);
  EXPECT_TRUE(same_bits(spec(with_nl_levels(p), 1, false), y.data(), m * n));
  EXPECT_THROW(pack_w4_from_q4_0(blocks.data(), n, k, g, W4Scale::Integer, W4Grid::Nl), Error);
  EXPECT_THROW(pack_w4(p.codes.data(), p.scales.data(), n, k, g, W4Scale::Integer, W4Grid::Nl),
               Error);
}

TEST_P(MatmulInt8, W4A8FromQ4_0Blocks) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const int64_t m = 5, n = 37, k = 256, g = 128;
  Problem p = make_problem(m, n, k, g, true, 21);
  // Q4_0 blocks with the group scale repeated in each 32-block (fp16-exact scales).
  std::vector<io::BlockQ4_0> blocks(size_t(n * k / 32));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < k / 32; ++b) {
      float& s = p.scales[size_t(j * (k / g) + b * 32 / g)];
      s = fp16_to_f32(f32_to_fp16(s));
      io::BlockQ4_0& blk = blocks[size_t(j * (k / 32) + b)];
      blk.d = f32_to_fp16(s);
      for (int e = 0; e < 16; ++e)
        blk.qs[e] = uint8_t((p.codes[size_t(j * k + b * 32 + e)] + 8) |
                            ((p.codes[size_t(j * k + b * 32 + e + 16)] + 8) << 4));
    }
  EXPECT_EQ(q4_0_uniform_group(blocks.data(), n, k), 128);
  const PackedW4 w = pack_w4_from_q4_0(blocks.data(), n, k, g);
  EXPECT_EQ(w.bytes(), (n + 31) / 32 * 32 * (k / 2 + 2 * (k / g)));  // fp16 scales
  std::vector<float> y(size_t(m * n));
  ThreadPool pool(2);
  matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), m, pool, isa);
  EXPECT_TRUE(same_bits(spec(p, 1, false), y.data(), m * n));
  // A group whose blocks disagree is refused, and the detector falls back.
  blocks[2].d = blocks[3].d = uint16_t(blocks[3].d ^ 1);  // row 0: blocks 2-3 vs 0-1
  EXPECT_THROW(pack_w4_from_q4_0(blocks.data(), n, k, g), Error);
  EXPECT_EQ(q4_0_uniform_group(blocks.data(), n, k), 64);
}

TEST_P(MatmulInt8, W8A8MatchesSpecBitForBit) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const Shape shapes[] = {{0, 8, 32, 32},   {1, 1, 4, 4},      {1, 17, 172, 172}, {2, 33, 64, 32},
                          {3, 16, 12, 4},   {5, 40, 100, 20},  {6, 64, 256, 256}, {7, 31, 96, 32},
                          {97, 35, 64, 64}, {1, 300, 576, 576}, {1, 3, 0, 4}};
  for (const Shape& s : shapes)
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k
                                        << " g=" << s.group << " threads=" << threads);
      Problem p = make_problem(s.m, s.n, s.k, s.group, false, uint32_t(s.n * 3 + s.k));
      if (!p.codes.empty()) p.codes[0] = -127, p.codes.back() = 127;
      if (threads == 2) round_scales_to_fp16(p);  // compact packing (fp16 scales, int16 sums)
      const PackedW8 w = pack_w8(p.codes.data(), p.scales.data(), s.n, s.k, s.group);
      ThreadPool pool(threads);
      std::vector<int8_t> xbuf(p.x.size() + 1);
      if (!p.x.empty()) std::memcpy(xbuf.data() + 1, p.x.data(), p.x.size());
      std::vector<float> y(size_t(s.m * s.n) + 1);
      matmul_w8a8(xbuf.data() + 1, p.a.data(), 1, w, y.data() + 1, s.m, pool, isa);
      EXPECT_TRUE(same_bits(spec(p, 1, false), y.data() + 1, s.m * s.n));
    }
}

TEST_P(MatmulInt8, W8A8FromQ8_0Blocks) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const int64_t m = 3, n = 20, k = 96;
  Problem p = make_problem(m, n, k, 32, false, 33);
  std::vector<io::BlockQ8_0> blocks(size_t(n * k / 32));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < k / 32; ++b) {
      float& s = p.scales[size_t(j * (k / 32) + b)];
      s = fp16_to_f32(f32_to_fp16(s));
      blocks[size_t(j * (k / 32) + b)].d = f32_to_fp16(s);
      std::memcpy(blocks[size_t(j * (k / 32) + b)].qs, &p.codes[size_t(j * k + b * 32)], 32);
    }
  const PackedW8 w = pack_w8_from_q8_0(blocks.data(), n, k);
  // Compact: fp16 scales and int16 group sums (2 + 2 bytes per group and column).
  EXPECT_EQ(w.bytes(), (n + kIntTileCols - 1) / kIntTileCols * kIntTileCols * (k + 4 * (k / 32)));
  std::vector<float> y(size_t(m * n));
  ThreadPool pool(1);
  matmul_w8a8(p.x.data(), p.a.data(), 1, w, y.data(), m, pool, isa);
  EXPECT_TRUE(same_bits(spec(p, 1, false), y.data(), m * n));
}

TEST_P(MatmulInt8, ResultIndependentOfThreadCountAndM) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  const Problem p = make_problem(130, 96, 256, 64, true, 4);
  const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), p.n, p.k, p.group);
  std::vector<float> y1(size_t(p.m * p.n)), y4(y1.size()), row(size_t(p.n));
  ThreadPool pool1(1), pool4(4);
  matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y1.data(), p.m, pool1, isa);
  matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y4.data(), p.m, pool4, isa);
  EXPECT_EQ(0, std::memcmp(y1.data(), y4.data(), y1.size() * 4));
  matmul_w4a8(p.x.data() + 77 * p.k, p.a.data() + 77, 1, nullptr, w, row.data(), 1, pool4, isa);
  EXPECT_EQ(0, std::memcmp(row.data(), y1.data() + 77 * p.n, row.size() * 4));
}

TEST_P(MatmulInt8, MultiEqualsSeparateProducts) {
  // q/k/v-like: three weights of one k and group, different n (tails), one
  // with fp16 scales (compact) and two with f32 scales; W8 likewise.
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (int64_t m : {1, 7})
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "m=" << m << " threads=" << threads);
      ThreadPool pool(threads);
      const int64_t k = 192, g = 64;
      const int64_t ns[3] = {70, 17, 33};
      std::vector<Problem> ps;
      for (int i = 0; i < 3; ++i) {
        ps.push_back(make_problem(m, ns[i], k, g, true, uint32_t(50 + i)));
        if (i == 1) round_scales_to_fp16(ps.back());
      }
      std::vector<PackedW4> w4;
      std::vector<PackedW8> w8;
      for (const Problem& p : ps) {
        w4.push_back(pack_w4(p.codes.data(), p.scales.data(), p.n, k, g));
        Problem q = make_problem(m, p.n, k, 32, false, uint32_t(p.n));
        w8.push_back(pack_w8(q.codes.data(), q.scales.data(), p.n, k, 32));
      }
      const Problem& x = ps[0];  // x and a of the first problem for all
      for (bool is_w4 : {true, false}) {
        std::vector<std::vector<float>> sep(3), multi(3);
        float* ys[3];
        for (int i = 0; i < 3; ++i) {
          sep[size_t(i)].assign(size_t(m * ns[i]), 0.0f);
          multi[size_t(i)].assign(size_t(m * ns[i]) + 1, -3.0f);
          ys[i] = multi[size_t(i)].data();
          if (is_w4)
            matmul_w4a8(x.x.data(), x.a.data(), 1, nullptr, w4[size_t(i)], sep[size_t(i)].data(), m,
                        pool, isa);
          else
            matmul_w8a8(x.x.data(), x.a.data(), 1, w8[size_t(i)], sep[size_t(i)].data(), m, pool,
                        isa);
        }
        if (is_w4) {
          const PackedW4* ws[3] = {&w4[0], &w4[1], &w4[2]};
          matmul_w4a8_multi(x.x.data(), x.a.data(), 1, nullptr, ws, ys, 3, m, pool, isa);
        } else {
          const PackedW8* ws[3] = {&w8[0], &w8[1], &w8[2]};
          matmul_w8a8_multi(x.x.data(), x.a.data(), 1, ws, ys, 3, m, pool, isa);
        }
        for (int i = 0; i < 3; ++i) {
          EXPECT_TRUE(same_bits(sep[size_t(i)], multi[size_t(i)].data(), m * ns[i]))
              << (is_w4 ? "W4" : "W8") << " weight " << i;
          EXPECT_EQ(multi[size_t(i)].back(), -3.0f);
        }
      }
      // Mismatched k (or group) is refused.
      const Problem other = make_problem(m, 8, 2 * k, g, true, 99);
      const PackedW4 bad = pack_w4(other.codes.data(), other.scales.data(), 8, 2 * k, g);
      const PackedW4* mixed[2] = {&w4[0], &bad};
      std::vector<float> y0(size_t(m * 70)), y1(size_t(m * 8));
      float* yy[2] = {y0.data(), y1.data()};
      EXPECT_THROW(matmul_w4a8_multi(x.x.data(), x.a.data(), 1, nullptr, mixed, yy, 2, m, pool, isa),
                   Error);
    }
}

std::vector<float> random_group_scales(int64_t m, int64_t k, int64_t xg_group, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(1e-4f, 0.5f);
  std::vector<float> v(size_t(m * (k / xg_group)));
  for (auto& e : v) e = d(rng);
  return v;
}

TEST_P(MatmulInt8, PerGroupActivationScalesMatchSpecBitForBit) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  for (const Shape& s : kW4Shapes) {
    if (s.k == 0) continue;
    for (int64_t mult : {1, 2}) {
      const int64_t xgg = s.group * mult;
      if (s.k % xgg != 0) continue;
      for (int kind = 0; kind < 3; ++kind) {  // W4 uniform, W4 IQ4_NL, W8
        SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k << " g="
                                          << s.group << " xg=" << xgg << " kind=" << kind);
        Problem p = make_problem(s.m, s.n, s.k, s.group, kind < 2, uint32_t(s.m * 17 + s.n + kind));
        if (kind == 1) round_scales_to_fp16(p);
        const std::vector<float> xg = random_group_scales(s.m, s.k, xgg, uint32_t(s.n + xgg));
        ThreadPool pool(2);
        std::vector<float> y(size_t(s.m * s.n) + 1, -7.0f);
        const XGroupScales xs{xg.data(), xgg};
        if (kind < 2) {
          const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), s.n, s.k, s.group,
                                     W4Scale::Float, kind == 1 ? W4Grid::Nl : W4Grid::Uniform);
          const Problem& ps = p;
          const auto want = spec(kind == 1 ? with_nl_levels(ps) : ps, 1, false, &xg, xgg);
          matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), s.m, pool, isa, xs);
          EXPECT_TRUE(same_bits(want, y.data(), s.m * s.n));
          // One input against two weights: the same bits as separately.
          const PackedW4* ws[2] = {&w, &w};
          std::vector<float> y0(size_t(s.m * s.n)), y1(y0.size());
          float* ys[2] = {y0.data(), y1.data()};
          matmul_w4a8_multi(p.x.data(), p.a.data(), 1, nullptr, ws, ys, 2, s.m, pool, isa, xs);
          EXPECT_TRUE(same_bits(want, y0.data(), s.m * s.n));
          EXPECT_TRUE(same_bits(want, y1.data(), s.m * s.n));
        } else {
          const PackedW8 w = pack_w8(p.codes.data(), p.scales.data(), s.n, s.k, s.group);
          matmul_w8a8(p.x.data(), p.a.data(), 1, w, y.data(), s.m, pool, isa, xs);
          EXPECT_TRUE(same_bits(spec(p, 1, false, &xg, xgg), y.data(), s.m * s.n));
        }
        EXPECT_EQ(y.back(), -7.0f);
      }
    }
  }
}

TEST_P(MatmulInt8, PerGroupActivationScalesRejectBadGroups) {
  const Isa isa = GetParam();
  FPTQ_SKIP_IF_UNSUPPORTED(isa);
  Problem p = make_problem(2, 16, 128, 64, true, 3);
  const PackedW4 w = pack_w4(p.codes.data(), p.scales.data(), 16, 128, 64, W4Scale::Float);
  const PackedW4 wi = pack_w4(p.codes.data(), p.scales.data(), 16, 128, 64, W4Scale::Integer);
  const std::vector<float> xg(8, 0.1f);
  std::vector<float> y(32);
  ThreadPool pool(1);
  // 32 holds half a weight group; 96 does not divide k; integer scales cannot take it.
  for (int64_t g : {32, 96, 0})
    EXPECT_THROW(matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, w, y.data(), 2, pool, isa,
                             XGroupScales{xg.data(), g}),
                 Error)
        << g;
  EXPECT_THROW(matmul_w4a8(p.x.data(), p.a.data(), 1, nullptr, wi, y.data(), 2, pool, isa,
                           XGroupScales{xg.data(), 64}),
               Error);
}

TEST(MatmulInt8Pack, RejectsBadInput) {
  std::vector<int8_t> c(64 * 2, 0);
  std::vector<float> s(4, 1.0f);
  EXPECT_THROW(pack_w4(c.data(), s.data(), 2, 64, 48), Error);  // group not multiple of 32
  EXPECT_THROW(pack_w4(c.data(), s.data(), 2, 48, 32), Error);  // k not multiple of group
  EXPECT_THROW(pack_w4(c.data(), s.data(), 1, 2048, 2048, W4Scale::Integer), Error);
  c[5] = 8;
  EXPECT_THROW(pack_w4(c.data(), s.data(), 2, 64, 32), Error);  // code outside -8..7
  c[5] = 0;
  s[1] = NAN;
  EXPECT_THROW(pack_w4(c.data(), s.data(), 2, 64, 32), Error);
  s[1] = 1.0f;
  c[3] = -128;
  EXPECT_THROW(pack_w8(c.data(), s.data(), 2, 64, 32), Error);  // -128 breaks the AVX2 sign trick
  EXPECT_THROW(pack_w8(c.data(), s.data(), 2, 64, 6), Error);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, MatmulInt8, ::testing::ValuesIn(testing::kAllIsas),
                         testing::isa_param_name);

}  // namespace
}  // namespace fptq::kernels
