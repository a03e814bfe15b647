// W8A8 matrix products (SmoothQuant baseline, Q8_0 layers): int8 group-wise
// or per-channel weights x int8 activations.
//
//   Y[i][j] = a_i · Σ_G s[j][G] · P_G[i][j],  P_G = Σ_{t∈G} xq[i][t] · q[j][t]
// q in -127..127, group g a multiple of 4 dividing k (g = k: per-channel;
// g = 32: Q8_0). Same float sequence and exactness as matmul_w4a8.h: every
// ISA equals ref bit for bit.
//
// x86: AVX-512 VNNI biases x to the unsigned operand (x + 128) and subtracts
// 128 · Σ_{t∈G} q[j][t] (precomputed at packing); AVX2 uses the vpsignb trick
// (|x| · sign(x)·q, int16 pairs <= 2·128·127 < 2^15), which is why -128 is
// not a valid weight code.
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/int8_layout.h"

namespace fptq::kernels {

struct PackedIntImpl;  // kernels/int_gemm_driver.h

class PackedW8 {
 public:
  PackedW8();
  ~PackedW8();
  PackedW8(PackedW8&&) noexcept;
  PackedW8& operator=(PackedW8&&) noexcept;
  int64_t n() const;
  int64_t k() const;
  int64_t group() const;
  int64_t bytes() const;
  const PackedIntImpl& impl() const { return *impl_; }

 private:
  friend PackedW8 pack_w8(const int8_t*, const float*, int64_t, int64_t, int64_t);
  friend PackedW8 pack_w8_from_q8_0(const void*, int64_t, int64_t);
  std::unique_ptr<PackedIntImpl> impl_;
};

// codes: [n][k] int8 in -127..127, scales: [n][k/group] f32 (finite); group a
// multiple of 4 dividing k (group = k for per-channel; k may be 0 with
// group 4). Copies. Throws fptq::Error for bad shapes, -128, bad scales.
PackedW8 pack_w8(const int8_t* codes, const float* scales, int64_t n, int64_t k, int64_t group);

// blocks: [n][k/32] io::BlockQ8_0 (any alignment): group 32, scale fp16 d.
// Throws fptq::Error when k % 32 != 0 or a code is -128.
PackedW8 pack_w8_from_q8_0(const void* blocks, int64_t n, int64_t k);

// xq: [m][k] int8, a_i = x_scale[i · x_scale_stride], y: [m][n] f32.
// As matmul_w4a8 (no group sums needed).
void matmul_w8a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const PackedW8& w, float* y, int64_t m, ThreadPool& pool, XGroupScales xg = {});
void matmul_w8a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const PackedW8& w, float* y, int64_t m, ThreadPool& pool, Isa isa, XGroupScales xg = {});

// As matmul_w4a8_multi (equal k).
void matmul_w8a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const PackedW8* const* ws, float* const* ys, int n, int64_t m,
                       ThreadPool& pool, XGroupScales xg = {});
void matmul_w8a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const PackedW8* const* ws, float* const* ys, int n, int64_t m,
                       ThreadPool& pool, Isa isa, XGroupScales xg = {});

}  // namespace fptq::kernels
