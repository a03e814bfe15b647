// W4A8 matrix products of the quantized engine (fptq-method.md §6):
// int4 group-wise weights x int8 activations, int32 group partials.
//
// Convention (as everywhere in fptq): W has shape [n out][k in], y = x · Wᵀ.
//   Y[i][j] = a_i · Σ_G s[j][G] · P_G[i][j],  P_G = Σ_{t∈G} xq[i][t] · q[j][t]
// q in -8..7 (w = q · s), xq int8, a_i the activation scale of row i (static
// Δ or per-token Δ_t). Group g (a multiple of 32) divides k.
//
// Exactness: every P_G is an exact int32; the float part is, per output,
// f = 0; f = fma(float(P_G), s[j][G], f) for G = 0, 1, ...; y = a_i · f, so
// every ISA returns exactly what ref returns (bit for bit), independent of
// m, the tiling and the thread count.
//
// x86: the weight is the unsigned vpdpbusd operand u = q + 8 (0..15) and the
// kernels subtract 8 · Σ_{t∈G} xq[i][t] per group (the activation group sums,
// group_sums_rows_i8, computed by matmul_w4a8 when not given). Chosen over
// the vpsignb trick because AVX-512 has no vpsignb and the correction costs
// one subtraction per group, not per step.
#pragma once

#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/int8_layout.h"

namespace fptq::kernels {

struct PackedIntImpl;  // kernels/int_gemm_driver.h

// The integer-scale variant (method §6): per output row j, c[j] = max_G |s[j][G]| / 2^10
// and S_int[j][G] = nearbyint(2^10 · s[j][G] / max_G |s[j][G]|) in -1024..1024
// (normalising by the row maximum keeps ~10 significant bits; round(2^10 · s)
// of a raw scale ~1e-3 would keep one or two). Then
//   y = a_i · (c[j] · float(Σ_G int64(P_G · S_int[j][G])))
// with P_G · S_int exact in int32 for g <= 1024 (|P_G| <= g·128·8 = g·2^10,
// |S_int| <= 2^10: product <= g·2^20 < 2^31) and one int64 -> float
// conversion per output (int32 accumulation would only be safe for k < 2048;
// see tests/kernels/int_scale_bound_test.cpp).
enum class W4Scale { Float, Integer };

// The levels of the 16 codes: Uniform, w = (nibble − 8) · s (Q4_0); Nl, w =
// io::kIq4NlValues[nibble] · s (IQ4_NL: ggml's non-uniform levels; float
// scale mode only). Same packed layout; the kernels look the level up
// (kernels/int8_layout.h).
enum class W4Grid { Uniform, Nl };

// Packed int4 weights in the kernels' layout (kernels/int8_layout.h: panels
// of 16 outputs, W4Octet steps, [k/g][16] scales). Immutable; shareable
// across threads.
class PackedW4 {
 public:
  PackedW4();
  ~PackedW4();
  PackedW4(PackedW4&&) noexcept;
  PackedW4& operator=(PackedW4&&) noexcept;
  int64_t n() const;
  int64_t k() const;
  int64_t group() const;
  W4Scale scale_mode() const;
  W4Grid grid() const;
  // Bytes of packed codes + scales (what one GEMV streams).
  int64_t bytes() const;
  const PackedIntImpl& impl() const { return *impl_; }

 private:
  friend PackedW4 pack_w4(const int8_t*, const float*, int64_t, int64_t, int64_t, W4Scale, W4Grid);
  friend PackedW4 pack_w4_from_q4_0(const void*, int64_t, int64_t, int64_t, W4Scale, W4Grid);
  std::unique_ptr<PackedIntImpl> impl_;
};

// codes: [n][k] int8 in -8..7 (w = code · scale), scales: [n][k/group] f32
// (finite). group: a multiple of 32 dividing k (k may be 0). Copies.
// Throws fptq::Error for bad shapes/group, a code outside -8..7, a non-finite
// scale, W4Scale::Integer with group > 1024, or W4Scale::Integer with W4Grid::Nl.
// grid Nl: w = io::kIq4NlValues[code + 8] · scale.
PackedW4 pack_w4(const int8_t* codes, const float* scales, int64_t n, int64_t k, int64_t group,
                 W4Scale mode = W4Scale::Float, W4Grid grid = W4Grid::Uniform);

// blocks: [n][k/32] io::BlockQ4_0 (the on-disk layout; any alignment), value =
// (nibble - 8) · d. group: a multiple of 32 dividing k over which every
// block's d is bit-identical (the FPTQ writer repeats the group scale in each
// 32-block). Throws fptq::Error naming row and group when a group's d differ,
// or for bad shapes (k % 32 != 0). grid Nl: the blocks are IQ4_NL (the same
// bytes, value = io::kIq4NlValues[nibble] · d).
PackedW4 pack_w4_from_q4_0(const void* blocks, int64_t n, int64_t k, int64_t group,
                           W4Scale mode = W4Scale::Float, W4Grid grid = W4Grid::Uniform);

// The largest group in {max_group, max_group/2, ..., 32} (powers of two times
// 32) that divides k and over which every Q4_0 row has uniform d; 32 always
// qualifies. blocks: [n][k/32] BlockQ4_0. Throws fptq::Error when k % 32 != 0.
int64_t q4_0_uniform_group(const void* blocks, int64_t n, int64_t k, int64_t max_group = 256);

// xq: [m][k] int8 (row stride k), x_scale: a_i = x_scale[i · x_scale_stride]
// (stride 1: per-token Δ_t [m]; stride 0: one static Δ), x_group_sums:
// [m][k/group] int32 from group_sums_rows_i8, or nullptr (then computed
// here), y: [m][n] f32 (row stride n). m == 1 and small m stream the weights
// once (GEMV); large m runs the cache-blocked GEMM. Multi-threaded over
// column tiles (and row blocks); results independent of the thread count.
// Throws fptq::Error when m < 0. Not re-entrant per pool.
void matmul_w4a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const int32_t* x_group_sums, const PackedW4& w, float* y, int64_t m,
                 ThreadPool& pool, XGroupScales xg = {});
// The same with the kernels of `isa` (tests, benchmarks).
void matmul_w4a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const int32_t* x_group_sums, const PackedW4& w, float* y, int64_t m,
                 ThreadPool& pool, Isa isa, XGroupScales xg = {});

// The same input against several weights of equal k and group in one
// parallel loop (q/k/v, gate/up): ys[i] equals matmul_w4a8(.., *ws[i], ys[i], ..)
// bit for bit; one synchronisation instead of n. Throws fptq::Error when the
// weights' k or group differ or m < 0.
void matmul_w4a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const int32_t* x_group_sums, const PackedW4* const* ws, float* const* ys,
                       int n, int64_t m, ThreadPool& pool, XGroupScales xg = {});
void matmul_w4a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const int32_t* x_group_sums, const PackedW4* const* ws, float* const* ys,
                       int n, int64_t m, ThreadPool& pool, Isa isa, XGroupScales xg = {});

}  // namespace fptq::kernels
