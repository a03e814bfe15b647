#include "quant/gptq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/thread_pool.h"

namespace fptq::quant {

HessianAccumulator::HessianAccumulator(int64_t k) : k_(k) {
  if (k <= 0) fail("GPTQ Hessian: k = {} must be positive", k);
  upper_.assign(size_t(k * k), 0.0);
}

namespace {

// upper[i][j] += a_t,i · x_t,j for j in [j0, j1), j >= i, i in [i0, i1), over
// the tile's rows t in order, skipping a_t,i == 0: each element receives the
// same additions in the same order as a row-by-row rank-1 update, so the
// tiling changes no bit. Element-wise multiplies and adds only (fp-contract
// is off project-wide), so every clone computes the same bits as the
// default (scalar) one.
__attribute__((target_clones("avx512f", "avx2", "default"))) void hessian_tile(
    double* upper, int64_t k, const double* xd, const double* ad, int64_t rows, int64_t i0,
    int64_t i1, int64_t j0, int64_t j1) {
  for (int64_t i = i0; i < i1 && i < j1; ++i) {
    double* hrow = upper + i * k;
    const int64_t js = std::max(i, j0);
    for (int64_t t = 0; t < rows; ++t) {
      const double a = ad[t * k + i];
      if (a == 0.0) continue;
      const double* xr = xd + t * k;
      for (int64_t j = js; j < j1; ++j) hrow[j] += a * xr[j];
    }
  }
}

}  // namespace

void HessianAccumulator::add(std::span<const float> x, ThreadPool* pool) {
  if (x.size() % size_t(k_) != 0)
    fail("GPTQ Hessian: {} values is not [rows][{}]", x.size(), k_);
  const int64_t rows = int64_t(x.size()) / k_;
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < k_; ++j) {
      const float v = x[size_t(t * k_ + j)];
      if (!std::isfinite(v)) fail("GPTQ Hessian: row {} channel {} is {}", rows_ + t, j, v);
    }
  // Tiles of kRows calibration rows × kCols columns of H: a tile's rows stay
  // in cache while every row of H above the tile's columns takes them, so H
  // (189 MB at K = 4864) streams once per kRows rows instead of once per row.
  constexpr int64_t kRows = 64, kCols = 256, kRowsPerTask = 64;
  std::vector<double> xd(size_t(std::min(rows, kRows) * k_)), ad(xd.size());
  for (int64_t t0 = 0; t0 < rows; t0 += kRows) {
    const int64_t m = std::min(kRows, rows - t0);
    for (int64_t t = 0; t < m; ++t)
      for (int64_t j = 0; j < k_; ++j) {
        const double v = x[size_t((t0 + t) * k_ + j)];
        xd[size_t(t * k_ + j)] = v;
        ad[size_t(t * k_ + j)] = 2.0 * v;
      }
    // Tasks own disjoint bands of H's rows: the result does not depend on
    // the thread count.
    const int64_t n_tasks = (k_ + kRowsPerTask - 1) / kRowsPerTask;
    auto band = [&](int64_t task, int) {
      const int64_t i0 = task * kRowsPerTask, i1 = std::min(k_, i0 + kRowsPerTask);
      for (int64_t j0 = i0 - i0 % kCols; j0 < k_; j0 += kCols)
        hessian_tile(upper_.data(), k_, xd.data(), ad.data(), m, i0, i1, j0,
                     std::min(k_, j0 + kCols));
    };
    if (pool && pool->size() > 1 && n_tasks > 1)
      pool->parallel_for(n_tasks, band);
    else
      for (int64_t task = 0; task < n_tasks; ++task) band(task, 0);
  }
  rows_ += rows;
}

void HessianAccumulator::merge(const HessianAccumulator& other) {
  if (other.k_ != k_) fail("GPTQ Hessian: cannot merge k = {} into k = {}", other.k_, k_);
  for (size_t i = 0; i < upper_.size(); ++i) upper_[i] += other.upper_[i];
  rows_ += other.rows_;
}

std::vector<double> HessianAccumulator::matrix() const {
  std::vector<double> h(upper_.size());
  for (int64_t i = 0; i < k_; ++i)
    for (int64_t j = i; j < k_; ++j)
      h[size_t(i * k_ + j)] = h[size_t(j * k_ + i)] = upper_[size_t(i * k_ + j)];
  return h;
}

namespace {

// y[i] -= f·x[i] and y[i] += f·x[i]: element-wise (fp-contract is off
// project-wide), so every clone computes the bits of the default one.
__attribute__((target_clones("avx512f", "avx2", "default"))) void sub_scaled(
    double* y, const double* x, double f, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] -= f * x[i];
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_scaled(
    double* y, const double* x, double f, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += f * x[i];
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void sub_scaled_f32(
    float* y, const float* x, float f, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] -= x[i] * f;
}

}  // namespace

std::vector<double> inverse_cholesky_upper(std::span<const double> h, int64_t k, double lambda) {
  if (k <= 0 || h.size() != size_t(k * k))
    fail("GPTQ: Hessian of {} values is not [{}][{}]", h.size(), k, k);
  // With J the reversal permutation, factor A' = J(H + λI)J = RᵀR (R upper,
  // so L = Rᵀ is the lower factor of A'); then (H + λI)⁻¹ = (J L⁻ᵀ J)(J L⁻¹ J)
  // and U = J L⁻¹ J = J R⁻ᵀ J: U[i][j] = X[k−1−j][k−1−i] with X = R⁻¹.
  // Both steps run along rows (contiguous axpys) in a fixed order: the bits
  // do not depend on the ISA.
  const size_t kk = size_t(k);
  std::vector<double> a(kk * kk);
  for (size_t i = 0; i < kk; ++i)
    for (size_t j = 0; j < kk; ++j)
      a[i * kk + j] = h[(kk - 1 - i) * kk + (kk - 1 - j)] + (i == j ? lambda : 0.0);
  // Right-looking upper Cholesky in panels of kPanel rows: a panel is
  // factored, then every later row takes the panel's updates while the
  // panel stays in cache. Element a[i][p] (p >= i) receives the updates of
  // rows j = 0, 1, … < i in that order.
  constexpr size_t kPanel = 32;
  for (size_t j0 = 0; j0 < kk; j0 += kPanel) {
    const size_t j1 = std::min(kk, j0 + kPanel);
    for (size_t j = j0; j < j1; ++j) {
      double* rj = a.data() + j * kk;
      const double d = rj[j];
      if (!(d > 0.0) || !std::isfinite(d))
        fail("GPTQ: damped Hessian is not positive definite (pivot {} of {} is {})", kk - 1 - j,
             kk, d);
      const double r = std::sqrt(d);
      rj[j] = r;
      for (size_t p = j + 1; p < kk; ++p) rj[p] /= r;
      for (size_t i = j + 1; i < j1; ++i)
        sub_scaled(a.data() + i * kk + i, rj + i, rj[i], int64_t(kk - i));
    }
    for (size_t i = j1; i < kk; ++i)
      for (size_t j = j0; j < j1; ++j) {
        const double* rj = a.data() + j * kk;
        sub_scaled(a.data() + i * kk + i, rj + i, rj[i], int64_t(kk - i));
      }
  }
  // X = R⁻¹ row by row from X·R = I: x_ii = 1 / r_ii and, for j > i,
  // x_ij = −(Σ_{i<=p<j} x_ip r_pj) / r_jj, accumulated as axpys of R's rows;
  // kRows rows of X at a time share each row of R read.
  constexpr size_t kRows = 16;
  std::vector<double> x(kk * kk, 0.0), acc(kRows * kk);
  for (size_t i0 = 0; i0 < kk; i0 += kRows) {
    const size_t i1 = std::min(kk, i0 + kRows);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t j = i0; j < kk; ++j) {
      const double* rj = a.data() + j * kk;
      for (size_t i = i0; i < i1 && i <= j; ++i) {
        double* ai = acc.data() + (i - i0) * kk;
        const double xij = j == i ? 1.0 / rj[j] : -ai[j] / rj[j];
        x[i * kk + j] = xij;
        add_scaled(ai + j + 1, rj + j + 1, xij, int64_t(kk - j - 1));
      }
    }
  }
  std::vector<double> u(kk * kk, 0.0);
  for (size_t i = 0; i < kk; ++i)
    for (size_t j = i; j < kk; ++j) u[i * kk + j] = x[(kk - 1 - j) * kk + (kk - 1 - i)];
  return u;
}

Int4Weights gptq_quantize(std::span<const float> w, int64_t n, int64_t k,
                          std::span<const double> h, const GptqConfig& cfg, GptqReport* report) {
  if (cfg.block <= 0) fail("GPTQ: block size {} must be positive", cfg.block);
  if (!(cfg.damp >= 0.0) || !std::isfinite(cfg.damp))
    fail("GPTQ: damping {} must be finite and >= 0", cfg.damp);
  if (k > 0 && h.size() != size_t(k) * size_t(k))
    fail("GPTQ: Hessian of {} values is not [{}][{}]", h.size(), k, k);
  // Validates shape and group and handles k % group != 0 exactly like RTN;
  // with Int4Grid::Auto it also picks the grid (RTN's objective) that the
  // sweep then rounds to.
  // Codes and scales are all recomputed below, so on a fixed grid the cheap
  // Q4_0 rule is enough here; the result keeps the config's rule.
  if (!cfg.int4.importance.empty() && int64_t(cfg.int4.importance.size()) != k)
    fail("GPTQ: {} importance values for K = {}", cfg.int4.importance.size(), k);
  Int4Config first = cfg.int4;
  if (first.grid != Int4Grid::Auto) first.rule = ScaleRule::Q4_0;
  Int4Weights q = quantize_int4(w, n, k, first);
  if (q.status != Int4Status::Ok) return q;
  q.rule = cfg.int4.rule;
  const Int4Grid grid = q.grid;
  const int64_t group = q.group, gpr = q.groups_per_row();
  const int qmin = int4_qmin(cfg.int4.rule);
  const size_t kk = size_t(k), nn = size_t(n);

  std::vector<double> hw(h.begin(), h.end());
  // wt: [k][n] — column j of W is row j here, so column updates are contiguous.
  std::vector<float> wt(kk * nn);
  for (size_t i = 0; i < nn; ++i)
    for (size_t j = 0; j < kk; ++j) wt[j * nn + i] = w[i * kk + j];
  GptqReport rep;
  for (size_t j = 0; j < kk; ++j) {
    if (!std::isfinite(hw[j * kk + j])) fail("GPTQ: H[{}, {}] is not finite", j, j);
    if (hw[j * kk + j] == 0.0) {  // input channel always zero: its weight never matters
      hw[j * kk + j] = 1.0;
      std::fill(wt.begin() + j * nn, wt.begin() + (j + 1) * nn, 0.0f);
      ++rep.dead_columns;
    }
  }

  // Scales per (row, group): [n][gpr]. Static groups (act-order) from the
  // original weights now; otherwise filled as the sweep reaches each group.
  std::vector<float>& scales = q.scales;
  std::vector<float> tmp(static_cast<size_t>(group));
  // Reads wt in ORIGINAL column order: call before permuting, or when the
  // permutation is the identity.
  auto compute_group_scales = [&](int64_t g) {
    for (size_t i = 0; i < nn; ++i) {
      for (int64_t c = 0; c < group; ++c) tmp[size_t(c)] = wt[size_t(g * group + c) * nn + i];
      scales[i * size_t(gpr) + size_t(g)] = int4_group_scale(
          tmp, cfg.int4.rule,
          cfg.int4.importance.empty()
              ? std::span<const float>()
              : cfg.int4.importance.subspan(size_t(g * group), size_t(group)),
          grid);
    }
  };

  std::vector<int64_t> perm(kk);  // perm[p] = original column visited p-th
  std::iota(perm.begin(), perm.end(), int64_t{0});
  if (cfg.act_order) {
    for (int64_t g = 0; g < gpr; ++g) compute_group_scales(g);
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return hw[size_t(a) * kk + size_t(a)] > hw[size_t(b) * kk + size_t(b)];
    });
    std::vector<double> hp(kk * kk);
    std::vector<float> wp(kk * nn);
    for (size_t p = 0; p < kk; ++p) {
      const size_t c = size_t(perm[p]);
      for (size_t r = 0; r < kk; ++r) hp[p * kk + r] = hw[c * kk + size_t(perm[r])];
      std::copy(wt.begin() + c * nn, wt.begin() + (c + 1) * nn, wp.begin() + p * nn);
    }
    hw.swap(hp);
    wt.swap(wp);
  }

  double mean_diag = 0.0;
  for (size_t j = 0; j < kk; ++j) mean_diag += hw[j * kk + j];
  mean_diag /= double(kk);
  std::vector<double> u;
  double damp = cfg.damp;
  for (int attempt = 0;; ++attempt) {
    try {
      u = inverse_cholesky_upper(hw, k, damp * mean_diag);
      break;
    } catch (const Error& e) {
      if (attempt == 3) fail("GPTQ: {} even with damping {}", e.what(), damp);
      damp = damp > 0.0 ? damp * 10.0 : 1e-4;
    }
  }
  rep.damp_used = damp;

  const size_t block = size_t(cfg.block);
  std::vector<float> err(block * nn);  // [block][n] scaled errors of the current block
  for (size_t i1 = 0; i1 < kk; i1 += block) {
    const size_t i2 = std::min(i1 + block, kk);
    for (size_t p = i1; p < i2; ++p) {
      const size_t c = size_t(perm[p]);
      const int64_t g = int64_t(c) / group;
      if (!cfg.act_order && int64_t(c) % group == 0)
        compute_group_scales(g);  // perm is the identity here
      float* col = wt.data() + p * nn;
      float* e = err.data() + (p - i1) * nn;
      const double upp = u[p * kk + p];
      for (size_t i = 0; i < nn; ++i) {
        const float d = scales[i * size_t(gpr) + size_t(g)];
        const int8_t code =
            grid == Int4Grid::Uniform ? int4_code(col[i], d, qmin) : int4_grid_code(col[i], d, grid);
        q.codes[i * kk + c] = code;
        e[i] = float((double(col[i]) - double(float(int4_level(code, grid)) * d)) / upp);
      }
      for (size_t j = p + 1; j < i2; ++j)
        sub_scaled_f32(wt.data() + j * nn, e, float(u[p * kk + j]), nn);
    }
    // Lazy update of the columns after the block: W[:, i2:] -= Err · U[i1:i2, i2:].
    for (size_t j = i2; j < kk; ++j) {
      float* cj = wt.data() + j * nn;
      for (size_t p = i1; p < i2; ++p) {
        const float f = float(u[p * kk + j]);
        if (f == 0.0f) continue;
        sub_scaled_f32(cj, err.data() + (p - i1) * nn, f, nn);
      }
    }
  }
  if (report) *report = rep;
  return q;
}

}  // namespace fptq::quant
