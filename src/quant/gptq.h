// GPTQ: int4 rounding with Hessian-based error compensation (Frantar et al.,
// 2022), an optional add-on to round-to-nearest (fptq-method.md §5).
//
// For a linear y = x·Wᵀ, W: [n][k], calibration inputs X: [rows][k]:
//   H = 2 Σ_t x_tᵀ x_t   ([k][k], double; the overall scale of H does not
//                          change the result because damping is relative)
// Columns are quantized left to right (or in act-order: by diag H
// descending); each column's rounding error is spread over the columns not
// yet quantized through the upper Cholesky factor U of (H + λI)⁻¹,
// λ = damp · mean(diag H). Updates are applied lazily per block of columns.
// Codes and scales are the same format as quantize_int4 (weight_int4.h), with
// the same scale rules; scales are fp16-rounded before codes are computed.
// Groups always follow the ORIGINAL K order. Without act-order each group's
// scales are computed when the sweep reaches the group's first column, from
// the error-updated weights (standard GPTQ); with act-order they are computed
// before the sweep from the original weights ("static groups"), since the
// sweep visits a group's columns out of order.
// The grid is the config's: on Nl the sweep rounds each column to the
// nearest IQ4_NL level of its group's scale and feeds back that error; Auto
// first picks the grid per tensor by RTN's objective (quantize_int4), then
// sweeps on it. With H = identity no error is propagated and the result
// equals quantize_int4 exactly, on every grid.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/weight_int4.h"

namespace fptq {
class ThreadPool;
}

namespace fptq::quant {

// Streaming accumulator of H = 2 Σ xᵀx over calibration rows. Not thread-safe;
// accumulate per thread and merge().
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t k);

  // x: [rows][k] row-major. Throws fptq::Error when x.size() % k != 0 or x
  // holds a non-finite value. pool: bands of H's rows in parallel (nullptr:
  // the calling thread); the sums are the same bits whatever the thread count
  // or ISA (each element adds its rows in order).
  void add(std::span<const float> x, ThreadPool* pool = nullptr);
  // Adds another accumulator's sums; throws fptq::Error when k differs.
  void merge(const HessianAccumulator& other);

  int64_t k() const { return k_; }
  int64_t rows() const { return rows_; }
  // The full symmetric H: [k][k] row-major.
  std::vector<double> matrix() const;

 private:
  int64_t k_;
  int64_t rows_ = 0;
  std::vector<double> upper_;  // [k][k], only j >= i filled
};

struct GptqConfig {
  Int4Config int4;         // group size and scale rule
  double damp = 0.01;      // λ = damp · mean(diag H)
  int64_t block = 128;     // columns per lazy-update block
  bool act_order = false;  // visit columns by diag H descending
};

struct GptqReport {
  double damp_used = 0.0;    // the relative damping that made H + λI positive definite
  int64_t dead_columns = 0;  // columns with H[j, j] == 0 (input always zero): weight set to 0
};

// U: [k][k] row-major upper triangular with (H + λI)⁻¹ = Uᵀ·U for the given
// absolute λ >= 0. h: [k][k] symmetric. Throws fptq::Error when H + λI is not
// positive definite (naming the pivot).
std::vector<double> inverse_cholesky_upper(std::span<const double> h, int64_t k, double lambda);

// w: [n][k] row-major, h: [k][k] (HessianAccumulator::matrix()).
// Returns codes [n][k] and scales [n][k/group] in the original column order.
// Throws fptq::Error on bad sizes / config (as quantize_int4, plus block <= 0
// or damp < 0) and when H stays indefinite after raising the damping ×10 three
// times. k % group != 0 gives status KNotDivisible, like quantize_int4.
Int4Weights gptq_quantize(std::span<const float> w, int64_t n, int64_t k,
                          std::span<const double> h, const GptqConfig& cfg,
                          GptqReport* report = nullptr);

}  // namespace fptq::quant
