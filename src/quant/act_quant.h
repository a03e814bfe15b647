// Int8 activation quantizers (fptq-method.md §4), symmetric, levels −127..127:
//   q = clamp(nearbyint(x / Δ), −127, 127),   x̂ = q · Δ
// static:  one Δ per tensor, Δ = B' / 127 from calibration (B' after LAE);
// dynamic: one Δ_t per token (row), Δ_t = max_k |x[t, k]| / 127, computed at
//          run time; a row whose Δ_t would be below kActScaleFloor uses the floor.
// static, outlier tokens isolated: Δ_t = max(Δ, max_k |x[t, k]| / 127): the
//          static Δ for every row it does not saturate, the row's own scale for
//          the rows it would (attention sinks, massive-activation tokens).
// The quotient is a true division x / Δ (not x · (1/Δ)), rounded half to even.
// A NaN or ±Inf input is rejected with fptq::Error naming its position (an
// overflowing model must not be hidden by a saturating quantizer); the
// kernels' quantizer (kernels/quantize_i8.h) handles them without a check.
// The fake-quant forms overwrite x with x̂ and are bit-exact with quantizing
// then multiplying back in float; the engine's exact emulation uses them.
#pragma once

#include <cstdint>
#include <span>

namespace fptq::quant {

inline constexpr float kActScaleFloor = 1e-8f;
inline constexpr int kActQMax = 127;

// Δ = bound / 127, floored at kActScaleFloor (bound 0: an all-zero input).
// Throws fptq::Error when bound is negative or not finite.
float static_act_scale(float bound);

// x: [count], q: [count]. Per-tensor static quantization with scale delta > 0.
void quantize_static(std::span<const float> x, float delta, std::span<int8_t> q);
// x: [count], in place: x ← q · Δ.
void fake_quant_static(std::span<float> x, float delta);

// x: [tokens][k] row-major, q: [tokens][k], scales: [tokens] (Δ_t).
// tokens = x.size() / k; throws fptq::Error when sizes disagree.
void quantize_dynamic(std::span<const float> x, int64_t k, std::span<int8_t> q,
                      std::span<float> scales);
// x: [tokens][k] row-major, in place: x[t, :] ← q[t, :] · Δ_t.
void fake_quant_dynamic(std::span<float> x, int64_t k);

// x: [tokens][k] row-major, in place: x[t, :] ← q[t, :] · Δ_t with
// Δ_t = isolated_act_scale(row t, delta) (static with outlier-token isolation).
void fake_quant_static_isolated(std::span<float> x, int64_t k, float delta);
// max(delta, max |row| / 127) (delta > 0), the float comparison the kernels
// make. Throws fptq::Error when the row holds a non-finite value.
float isolated_act_scale(std::span<const float> row, float delta);

// The per-row scale the dynamic quantizer uses for row: [k]. Throws
// fptq::Error when the row holds a non-finite value.
float dynamic_act_scale(std::span<const float> row);

}  // namespace fptq::quant
