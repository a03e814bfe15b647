// Int8 activation quantization for the W4A8 / W8A8 engine (fptq-method.md §4),
// with the fused RMSNorm -> int8 and SiLU(gate)·up -> int8 variants.
//
// The rule (identical to quant/act_quant.h, so fake-quant emulation and the
// int8 engine agree): q = clamp(nearbyint(x / Δ), -127, 127) with a true
// IEEE division x / Δ (never x · (1/Δ)), round half to even; NaN -> 0,
// ±Inf -> ±127.
//   static per-tensor: Δ given (delta > 0);
//   dynamic per-token: Δ_t = max(max_k |x[t,k]| over finite values / 127, 1e-8);
//   static with outlier-token isolation: Δ_t = max(Δ, max_k |x[t,k]| / 127),
//     the static Δ for every row it does not saturate, a per-token scale for
//     the rows it would (the attention sink, massive-activation tokens).
// Every ISA's quantize_rows_i8 is bit-identical to ref. The fused forms are
// bit-identical to the same ISA's rmsnorm_f32 / silu_mul_f32 followed by
// quantize_rows_i8 (ref: to ref's f32 op; SIMD f32 ops round differently
// from ref's, see kernel_decls.inc).
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace fptq::kernels {

// How to pick Δ: a static per-tensor scale, or per token at run time.
struct ActQuant {
  float static_delta = 0.0f;  // > 0: static Δ; 0: dynamic per token
  bool isolate = false;       // static only: rows the static Δ saturates get their own Δ_t
  // Dynamic only: > 0: one Δ per `group` consecutive values of a row (each
  // chunk quantized as its own dynamic row); 0: one Δ per row.
  int64_t group = 0;
  static ActQuant fixed(float delta) { return ActQuant{delta, false}; }
  static ActQuant fixed_isolated(float delta) { return ActQuant{delta, true}; }
  static ActQuant dynamic() { return ActQuant{0.0f, false}; }
  static ActQuant dynamic_grouped(int64_t g) { return ActQuant{0.0f, false, g}; }
  // The kernel-table encoding (kernel_decls.inc): Δ, 0, or −Δ for isolation.
  float kernel_delta() const { return isolate ? -static_delta : static_delta; }
};

// x: [m][k] f32 -> q: [m][k] int8, scales: [m] f32 (Δ per row; the static Δ
// repeated for a static quantizer). Grouped dynamic mode (mode.group > 0,
// dividing k): scales[t] = 1 and group_scales: [m][k/group] receives the Δ of
// each chunk, quantized exactly as quantize_row_i8(chunk, 0, ...). Throws
// fptq::Error when m or k < 0 or the static Δ is not positive and finite.
// With the optional `isa` argument the kernels of that ISA run (tests,
// benchmarks); otherwise active_isa().
void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales, float* group_scales = nullptr);
void quantize_rows_i8(const float* x, int64_t m, int64_t k, ActQuant mode, int8_t* q,
                      float* scales, Isa isa, float* group_scales = nullptr);

// Fused: q[t] = quantize(rmsnorm(x[t]) * weight). x: [m][k], weight: [k],
// q: [m][k], scales: [m].
void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales,
                              float* group_scales = nullptr);
void rmsnorm_quantize_rows_i8(const float* x, const float* weight, float eps, int64_t m,
                              int64_t k, ActQuant mode, int8_t* q, float* scales, Isa isa,
                              float* group_scales = nullptr);

// Fused: q[t] = quantize(silu(gate[t]) * up[t]). gate, up: [m][k], q: [m][k],
// scales: [m].
void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales,
                               float* group_scales = nullptr);
void silu_mul_quantize_rows_i8(const float* gate, const float* up, int64_t m, int64_t k,
                               ActQuant mode, int8_t* q, float* scales, Isa isa,
                               float* group_scales = nullptr);

// Per-group activation sums for the unsigned-weight W4A8 formulation:
// sums[t][G] = Σ_{j<group} q[t][G·group + j]. q: [m][k] int8, sums:
// [m][k/group] int32. Throws fptq::Error unless group >= 1 and k % group == 0.
void group_sums_rows_i8(const int8_t* q, int64_t m, int64_t k, int64_t group, int32_t* sums);
void group_sums_rows_i8(const int8_t* q, int64_t m, int64_t k, int64_t group, int32_t* sums,
                        Isa isa);

}  // namespace fptq::kernels
