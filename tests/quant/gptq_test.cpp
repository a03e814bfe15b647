#include "quant/gptq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/metrics.h"

namespace fptq::quant {
namespace {

// ||X·Wᵀ − X·Ŵᵀ||² for x: [t][k], w and wq: [n][k] (double accumulation).
double output_error(const std::vector<float>& x, const std::vector<float>& w,
                    const std::vector<float>& wq, int64_t t, int64_t k, int64_t n) {
  double e = 0.0;
  for (int64_t i = 0; i < t; ++i)
    for (int64_t o = 0; o < n; ++o) {
      double d = 0.0;
      for (int64_t j = 0; j < k; ++j)
        d += double(x[size_t(i * k + j)]) *
             (double(w[size_t(o * k + j)]) - double(wq[size_t(o * k + j)]));
      e += d * d;
    }
  return e;
}

// Correlated inputs: x_t = z_t·A with A mixing each channel with a few shared
// latent factors, plus per-channel scales spanning 10x (so act-order matters).
struct Data {
  int64_t t = 2048, k = 256, n = 64;  // t >> k so XᵀX is well conditioned
  std::vector<float> x, w;
};
Data make_data(uint32_t seed) {
  Data d;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t f = 8;  // latent factors
  std::vector<float> load(size_t(f * d.k)), scale(size_t(d.k));
  for (float& v : load) v = nd(rng);
  for (int64_t j = 0; j < d.k; ++j) scale[size_t(j)] = std::exp2(3.3f * float(j % 17) / 16.0f);
  d.x.resize(size_t(d.t * d.k));
  for (int64_t i = 0; i < d.t; ++i) {
    float z[f];
    for (float& v : z) v = nd(rng);
    for (int64_t j = 0; j < d.k; ++j) {
      float v = 1.5f * nd(rng);  // channel-private part: X is full rank
      for (int64_t c = 0; c < f; ++c) v += z[c] * load[size_t(c * d.k + j)];
      d.x[size_t(i * d.k + j)] = v * scale[size_t(j)];
    }
  }
  d.w.resize(size_t(d.n * d.k));
  for (float& v : d.w) v = 0.05f * nd(rng);
  return d;
}

TEST(Gptq, HessianKnownValues) {
  HessianAccumulator h(2);
  h.add(std::vector<float>{1.0f, 2.0f, 3.0f, -1.0f});  // x: [2][2]
  EXPECT_EQ(h.rows(), 2);
  // H = 2·(xᵀx) = 2·[[10, -1], [-1, 5]]
  EXPECT_EQ(h.matrix(), (std::vector<double>{20, -2, -2, 10}));
  HessianAccumulator other(2);
  other.add(std::vector<float>{1.0f, 0.0f});
  h.merge(other);
  EXPECT_EQ(h.matrix(), (std::vector<double>{22, -2, -2, 10}));
  EXPECT_THROW(h.add(std::vector<float>{1.0f}), Error);
  EXPECT_THROW(h.merge(HessianAccumulator(3)), Error);
}

// The tiled, banded, vectorized accumulation must equal the row-by-row
// rank-1 update H[i][j] += (2·x_ti)·x_tj (rows in order, a zero 2·x_ti
// skipped) bit for bit, on any thread count: K that neither tile width
// divides, a row count that the tile height does not divide, zeros and
// values spanning many binades, and two add() calls.
TEST(Gptq, HessianTiledAddEqualsRowByRowBitForBit) {
  for (int64_t k : {1, 37, 300}) {
    std::mt19937 rng(static_cast<uint32_t>(k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t rows = 150;
    std::vector<float> x(size_t(rows * k));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = i % 7 == 3 ? 0.0f : nd(rng) * std::exp2(float(int(i % 23) - 11));
    std::vector<double> ref(size_t(k * k), 0.0);
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t i = 0; i < k; ++i) {
        const double a = 2.0 * double(x[size_t(t * k + i)]);
        if (a == 0.0) continue;
        for (int64_t j = i; j < k; ++j) ref[size_t(i * k + j)] += a * double(x[size_t(t * k + j)]);
      }
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < i; ++j) ref[size_t(i * k + j)] = ref[size_t(j * k + i)];
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      HessianAccumulator h(k);
      const size_t half = size_t(97 * k);
      h.add(std::span<const float>(x.data(), half), &pool);
      h.add(std::span<const float>(x.data() + half, x.size() - half), &pool);
      EXPECT_EQ(h.rows(), rows);
      const auto m = h.matrix();
      ASSERT_EQ(m.size(), ref.size());
      int64_t differ = 0;
      for (size_t i = 0; i < m.size(); ++i) differ += m[i] != ref[i];
      EXPECT_EQ(differ, 0) << "k=" << k << " threads=" << threads;
    }
  }
}

TEST(Gptq, InverseCholeskyFactor) {
  // (H + λI)⁻¹ = Uᵀ·U with U upper: check Uᵀ·U·(H + λI) = I to 1e-9.
  const Data d = make_data(1);
  const int64_t k = 48;
  HessianAccumulator acc(k);
  std::vector<float> xs;
  for (int64_t i = 0; i < 100; ++i)
    xs.insert(xs.end(), d.x.begin() + i * d.k, d.x.begin() + i * d.k + k);
  acc.add(xs);
  const auto h = acc.matrix();
  const double lambda = 0.5;
  const auto u = inverse_cholesky_upper(h, k, lambda);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < i; ++j) ASSERT_EQ(u[size_t(i * k + j)], 0.0);
  double worst = 0.0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        double hinv_ip = 0.0;  // (UᵀU)[i, p]
        for (int64_t r = 0; r < k; ++r) hinv_ip += u[size_t(r * k + i)] * u[size_t(r * k + p)];
        s += hinv_ip * (h[size_t(p * k + j)] + (p == j ? lambda : 0.0));
      }
      worst = std::max(worst, std::fabs(s - (i == j ? 1.0 : 0.0)));
    }
  EXPECT_LT(worst, 1e-9);
  EXPECT_THROW(inverse_cholesky_upper(std::vector<double>{1, 2, 2, 1}, 2, 0.0), Error);
}

TEST(Gptq, IdentityHessianEqualsRtnExactly) {
  const Data d = make_data(2);
  std::vector<double> eye(size_t(d.k * d.k), 0.0);
  for (int64_t j = 0; j < d.k; ++j) eye[size_t(j * d.k + j)] = 1.0;
  for (ScaleRule r : {ScaleRule::Absmax7, ScaleRule::Q4_0, ScaleRule::Search})
    for (int64_t g : {32, 128, 0})
      for (bool act_order : {false, true}) {
        GptqConfig cfg;
        cfg.int4 = {g, r};
        cfg.act_order = act_order;
        const auto gq = gptq_quantize(d.w, d.n, d.k, eye, cfg);
        const auto rq = quantize_int4(d.w, d.n, d.k, cfg.int4);
        EXPECT_EQ(gq.codes, rq.codes) << scale_rule_name(r) << " g=" << g << " ao=" << act_order;
        EXPECT_EQ(gq.scales, rq.scales);
      }
  // The non-uniform grid (and Auto, which picks it per tensor as RTN does).
  for (Int4Grid grid : {Int4Grid::Nl, Int4Grid::Auto})
    for (ScaleRule r : {ScaleRule::Q4_0, ScaleRule::Weighted})
      for (bool act_order : {false, true}) {
        GptqConfig cfg;
        cfg.int4 = {32, r, {}, grid};
        cfg.act_order = act_order;
        const auto gq = gptq_quantize(d.w, d.n, d.k, eye, cfg);
        const auto rq = quantize_int4(d.w, d.n, d.k, cfg.int4);
        EXPECT_EQ(gq.grid, rq.grid) << int4_grid_name(grid) << " " << scale_rule_name(r);
        EXPECT_EQ(gq.codes, rq.codes) << int4_grid_name(grid) << " " << scale_rule_name(r);
        EXPECT_EQ(gq.scales, rq.scales);
      }
}

// Smallest eigenvalue of the SPD matrix whose inverse is UᵀU (U from
// inverse_cholesky_upper with λ = 0): 1 / λ_max(UᵀU) by power iteration.
double min_eigenvalue(const std::vector<double>& u, int64_t k) {
  std::vector<double> v(static_cast<size_t>(k), 1.0), t(static_cast<size_t>(k));
  double lambda = 0.0;
  for (int it = 0; it < 500; ++it) {
    for (int64_t i = 0; i < k; ++i) {  // t = U v
      double s = 0.0;
      for (int64_t j = i; j < k; ++j) s += u[size_t(i * k + j)] * v[size_t(j)];
      t[size_t(i)] = s;
    }
    double norm = 0.0;
    for (int64_t j = 0; j < k; ++j) {  // v = Uᵀ t
      double s = 0.0;
      for (int64_t i = 0; i <= j; ++i) s += u[size_t(i * k + j)] * t[size_t(i)];
      v[size_t(j)] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    lambda = norm;  // ||UᵀU v|| with ||v|| = 1 from the previous step
    for (double& e : v) e /= norm;
  }
  return 1.0 / lambda;
}

TEST(Gptq, BeatsRtnOnCorrelatedInputsButStillQuantizes) {
  // Calibrate on the first half of the rows; the upper bound is checked on the
  // held-out half.
  const Data d = make_data(3);
  const int64_t tc = d.t / 2, tt = d.t - tc;
  const std::vector<float> xcal(d.x.begin(), d.x.begin() + tc * d.k);
  const std::vector<float> xtest(d.x.begin() + tc * d.k, d.x.end());
  HessianAccumulator acc(d.k);
  acc.add(xcal);
  const auto h = acc.matrix();
  // Lower bound, rigorous: for any Ŵ whose row n lies on the grid of its
  // scales, ||X(w_n − ŵ_n)||² >= λ_min(XᵀX)·||w_n − ŵ_n||² and
  // ||w_n − ŵ_n||² >= Σ_j dist(w_nj, grid)², the distance RTN with the same
  // scales achieves. λ_min(XᵀX) = λ_min(H) / 2.
  const double lambda_min = 0.5 * min_eigenvalue(inverse_cholesky_upper(h, d.k, 0.0), d.k);
  ASSERT_GT(lambda_min, 0.0);
  for (const Int4Config int4 : {Int4Config{32, ScaleRule::Q4_0}, Int4Config{128, ScaleRule::Q4_0},
                                Int4Config{32, ScaleRule::Weighted, {}, Int4Grid::Nl}}) {
    const int64_t g = int4.group;
    const double rtn = output_error(
        xtest, d.w, dequantize_int4(quantize_int4(d.w, d.n, d.k, int4)), tt, d.k, d.n);
    for (bool act_order : {false, true}) {
      GptqConfig cfg;
      cfg.int4 = int4;
      cfg.act_order = act_order;
      GptqReport rep;
      const auto q = gptq_quantize(d.w, d.n, d.k, h, cfg, &rep);
      ASSERT_EQ(q.status, Int4Status::Ok);
      EXPECT_EQ(rep.damp_used, 0.01);
      EXPECT_EQ(rep.dead_columns, 0);
      const auto wq = dequantize_int4(q);
      const double e = output_error(xtest, d.w, wq, tt, d.k, d.n);
      double grid_dist = 0.0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t j = 0; j < d.k; ++j) {
          const float s = q.scales[size_t(i * q.groups_per_row() + j / q.group)];
          const float w = d.w[size_t(i * d.k + j)];
          const double diff =
              double(w) - double(float(int4_level(int4_grid_code(w, s, q.grid), q.grid)) * s);
          grid_dist += diff * diff;
        }
      const double lower = lambda_min * grid_dist;
      const double e_cal = output_error(xcal, d.w, wq, tc, d.k, d.n);
      std::printf("%s g=%lld act_order=%d: held-out error GPTQ/RTN = %.3f; calib error / bound = %.1f\n",
                  std::string(int4_grid_name(q.grid)).c_str(), (long long)g, int(act_order),
                  e / rtn, e_cal / lower);
      EXPECT_LT(e, 0.8 * rtn) << int4_grid_name(q.grid) << " g=" << g << " act_order=" << act_order;
      EXPECT_GE(e_cal, lower) << int4_grid_name(q.grid) << " g=" << g << " act_order=" << act_order;
      EXPECT_GT(lower, 0.0);
    }
  }
}

TEST(Gptq, DeadColumnsAndFallback) {
  const Data d = make_data(4);
  HessianAccumulator acc(d.k);
  auto x = d.x;
  for (int64_t i = 0; i < d.t; ++i) x[size_t(i * d.k + 5)] = 0.0f;  // channel 5 never fires
  acc.add(x);
  GptqReport rep;
  const auto q = gptq_quantize(d.w, d.n, d.k, acc.matrix(), GptqConfig{}, &rep);
  EXPECT_EQ(rep.dead_columns, 1);
  for (int64_t i = 0; i < d.n; ++i) EXPECT_EQ(q.codes[size_t(i * d.k + 5)], 0);
  // k % group != 0 reports like RTN.
  const int64_t k = 48;
  std::vector<double> eye(size_t(k * k), 0.0);
  for (int64_t j = 0; j < k; ++j) eye[size_t(j * k + j)] = 1.0;
  GptqConfig cfg;
  cfg.int4.group = 32;
  EXPECT_EQ(gptq_quantize(std::vector<float>(size_t(2 * k), 1.0f), 2, k, eye, cfg).status,
            Int4Status::KNotDivisible);
  EXPECT_THROW(gptq_quantize(d.w, d.n, d.k, std::vector<double>(10), GptqConfig{}), Error);
}

TEST(Gptq, NonFiniteWeightsOrInputsAreRejected) {
  const int64_t k = 64, n = 2;
  std::vector<double> eye(size_t(k * k), 0.0);
  for (int64_t j = 0; j < k; ++j) eye[size_t(j * k + j)] = 1.0;
  std::vector<float> w(size_t(n * k), 0.25f);
  GptqConfig cfg;
  cfg.int4.group = 32;
  ASSERT_EQ(gptq_quantize(w, n, k, eye, cfg).status, Int4Status::Ok);
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    auto wb = w;
    wb[size_t(k + 3)] = bad;
    EXPECT_THROW(gptq_quantize(wb, n, k, eye, cfg), Error);
    HessianAccumulator acc(k);
    std::vector<float> x(size_t(2 * k), 1.0f);
    x[size_t(k + 9)] = bad;
    try {
      acc.add(x);
      ADD_FAILURE() << "Hessian accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("row 1 channel 9"), std::string::npos) << e.what();
    }
    auto hb = eye;
    hb[size_t(5 * k + 5)] = bad;
    EXPECT_THROW(gptq_quantize(w, n, k, hb, cfg), Error);
  }
}

}  // namespace
}  // namespace fptq::quant
