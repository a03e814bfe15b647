// FP32 matrix products of the FP32 engine (prefill GEMM, decode GEMV).
//
// Convention (as everywhere in fptq): a linear layer has W of shape
// [n out][k in], row-major (GGUF ne = {k, n}); y = x · Wᵀ.
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/int8_layout.h"

namespace fptq::kernels {

// W rearranged once (at model load) into the layout the active ISA's GEMM
// and GEMV read fastest. Immutable after packing; shareable across threads.
class PackedF32 {
 public:
  PackedF32();
  ~PackedF32();
  PackedF32(PackedF32&&) noexcept;
  PackedF32& operator=(PackedF32&&) noexcept;
  int64_t n() const;  // output features
  int64_t k() const;  // input features
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  friend PackedF32 pack_f32(const float* w, int64_t n, int64_t k);
  std::unique_ptr<Impl> impl_;
};

// w: [n][k] row-major f32. Copies; w may be freed afterwards. The packed
// layout (panels of 32 output features, [k][32] each) is the same for every
// ISA. Throws fptq::Error for negative or absurd shapes or null w.
PackedF32 pack_f32(const float* w, int64_t n, int64_t k);

// x: [m][k] f32 (row stride k), y: [m][n] f32 (row stride n) = x · Wᵀ.
// m == 1 (decode) takes the GEMV path. Deterministic for a given ISA and
// thread count... and independent of the thread count.
//
// Every y[i][j] is one float accumulator running t = 0..k-1 in order (no
// reassociation), computed by one thread: the result does not depend on the
// thread count, the tiling, or m (row i of an m-row call equals the 1-row
// call on x[i]); AVX2 and AVX-512 (one FMA per step) agree bit for bit, ref
// (multiply, then add) within rounding.
// Uses kernels_for(active_isa()). Throws fptq::Error when m < 0.
// x, y: any alignment; y must not overlap x. Not re-entrant per pool.
void matmul_f32(const float* x, const PackedF32& w, float* y, int64_t m, ThreadPool& pool);

// The same with the kernels of `isa` (tests, benchmarks). Throws fptq::Error
// when !isa_supported(isa).
void matmul_f32(const float* x, const PackedF32& w, float* y, int64_t m, ThreadPool& pool, Isa isa);

// Group-wise scaled product, the float twin of the integer kernels' fold
// (matmul_w4a8.h): for every row i and output j,
//   P_G = Σ_{t∈G} x[i][t] · W[j][t]        one float sum per group G of `group` inputs
//   f = 0; f = fma(P_G, scales[G·n + j], f) for G = 0, 1, ...
//   y[i][j] = a[i] · f                      (f when a is null)
// With integer x and W (activation and weight codes) whose partial sums stay
// below 2^24 in magnitude, every P_G is the exact integer group sum in any
// order, so y equals the integer kernels' result bit for bit (the exact
// emulation of W4A8 / W8A8). w: PackedF32 of W [n][k]; scales: [k/group][n];
// group >= 1 divides k. Throws fptq::Error for a bad group or m < 0.
// xg (optional): per-group activation scales as in matmul_w4a8: group G of
// row r folds with the rounded product scales[G][j] · xg[r][G·group / xg.group]
// (xg.group a multiple of group dividing k), as the integer tiles do.
void matmul_f32_grouped(const float* x, const PackedF32& w, const float* scales, int64_t group,
                        const float* a, float* y, int64_t m, ThreadPool& pool,
                        XGroupScales xg = {});
void matmul_f32_grouped(const float* x, const PackedF32& w, const float* scales, int64_t group,
                        const float* a, float* y, int64_t m, ThreadPool& pool, Isa isa,
                        XGroupScales xg = {});

}  // namespace fptq::kernels
