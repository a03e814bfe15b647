#include "quant/weight_int8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>

#include "core/error.h"
#include "core/half.h"
#include "io/dequant.h"
#include "quant/metrics.h"

namespace fptq::quant {
namespace {

TEST(Int8Weights, KnownValues) {
  // Row 0: max 127 -> d = 1, half-to-even rounding; row 1 all zero.
  std::vector<float> w = {127.0f, -2.5f, 3.5f, 0.49f, 0, 0, 0, 0};
  const auto q = quantize_int8_rows(w, 2, 4);
  EXPECT_EQ(q.scales, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(q.codes, (std::vector<int8_t>{127, -2, 4, 0, 0, 0, 0, 0}));
  EXPECT_EQ(dequantize_int8(q), (std::vector<float>{127, -2, 4, 0, 0, 0, 0, 0}));
  EXPECT_THROW(quantize_int8_rows(w, 3, 4), Error);
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    w[1] = bad;
    try {
      (void)quantize_int8_rows(w, 2, 4);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    }
  }
}

// Rows of 32-blocks (how Q8_0 side tensors are quantized) are named by the
// tensor's row and columns when its row length is given.
TEST(Int8Weights, OverflowNamesTheTensorsRowAndColumns) {
  std::vector<float> w(4 * 96, 0.01f);
  w[size_t(2 * 96 + 70)] = 1e8f;  // tensor row 2, block columns 64..95
  for (const auto& [n, k, tk, want] :
       {std::tuple{int64_t(4), int64_t(96), int64_t(0), "row 2, columns 0..95"},
        std::tuple{int64_t(12), int64_t(32), int64_t(96), "row 2, columns 64..95"}}) {
    try {
      (void)quantize_int8_rows(w, n, k, tk);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("int8: ") + want + ": scale"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Int8Weights, Q8_0PackingDequantizesExactlyThroughIo) {
  const int64_t n = 5, k = 96;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(size_t(n * k));
  for (float& v : w) v = nd(rng);
  const auto q = quantize_int8_rows(w, n, k);
  for (float d : q.scales) EXPECT_EQ(fp16_to_f32(f32_to_fp16(d)), d);
  const auto blocks = pack_q8_0(q);
  ASSERT_EQ(blocks.size(), size_t(n * k / 32));
  std::vector<float> via_io(size_t(n * k));
  io::dequantize(io::GgmlType::Q8_0, blocks.data(), via_io.data(), n * k);
  EXPECT_EQ(via_io, dequantize_int8(q));
  EXPECT_THROW(pack_q8_0(quantize_int8_rows(std::vector<float>(40, 1.0f), 1, 40)), Error);
}

TEST(Int8Weights, NmseOnGaussianWithinDerivedBand) {
  // Step d = M/127 with M the row max of k = 4096 |N(0,1)| (E[M²] ≈ 14.2,
  // computed like the int4 test's): NMSE ≈ E[M²] / (12·127²) ≈ 7.3e-5.
  // Two-sided ±10% (256 rows average the row maxima).
  const int64_t n = 256, k = 4096;
  std::mt19937 rng(10);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> w(size_t(n * k));
  for (float& v : w) v = nd(rng);
  double em2 = 0.0;
  for (double x = 5e-5; x < 12.0; x += 1e-4)
    em2 += 2.0 * x * (1.0 - std::pow(std::erf(x / std::sqrt(2.0)), double(k))) * 1e-4;
  const double pred = em2 / (12.0 * 127.0 * 127.0);
  const double e = nmse(w, dequantize_int8(quantize_int8_rows(w, n, k)));
  EXPECT_GT(e, 0.9 * pred);
  EXPECT_LT(e, 1.1 * pred);
}

}  // namespace
}  // namespace fptq::quant
