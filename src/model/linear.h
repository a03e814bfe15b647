// One linear layer y = x·Wᵀ (+ b) as the engine runs it: FP32, W4A8 or W8A8,
// and the matmul input in the form its consumers read.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul_f32.h"
#include "kernels/matmul_w4a8.h"
#include "kernels/matmul_w8a8.h"

namespace fptq::model {

enum class LinearKind {
  f32,   // W dequantized to f32 (matmul_f32), float input
  w4a8,  // int4 group-wise W (a Q4_0 tensor, PackedW4) × int8 input
  w8a8,  // int8 W (a Q8_0 tensor, PackedW8) × int8 input
  // Emulate mode, a Q4_0 / Q8_0 layer at a quantized point: the weight codes
  // as f32 (w) with group scales, so that fake-quantized input runs the
  // integer kernels' arithmetic exactly (kernels::matmul_f32_grouped).
  f32_grouped,
};
std::string_view linear_kind_name(LinearKind kind);  // "F32", "W4A8", "W8A8"

// W [n][k]; exactly one of w / w4 / w8 holds it, as `kind` says.
struct Linear {
  LinearKind kind = LinearKind::f32;
  kernels::PackedF32 w;
  kernels::PackedW4 w4;
  kernels::PackedW8 w8;
  std::vector<float> group_scales;  // f32_grouped: [k/group][n]
  int64_t group = 0;                // f32_grouped: inputs per scale
  std::vector<float> bias;  // [n] or empty
  int64_t n() const;
  int64_t k() const;
};

// The input of the matmuls at one observation point, [m][k] rows:
//   x:     f32, what F32 layers read (x̂ = q·Δ when the point is quantized);
//   q:     int8 codes (nullptr when the point runs in float),
//   scale: [m] per-row Δ (a static Δ repeated),
//   group_sums / group: Σ of q over each group of `group` columns, [m][k/group],
//          for the W4A8 consumers (nullptr / 0 when there are none).
struct MatmulIn {
  const float* x = nullptr;
  const int8_t* q = nullptr;
  const float* scale = nullptr;
  const int32_t* group_sums = nullptr;
  int64_t group = 0;
  // Emulate mode: x as its int8 codes in f32 (x = codes · scale per row), when
  // an observer rounded it and reported the scales; else nullptr.
  const float* codes = nullptr;
  // Grouped dynamic points: Δ per `act_group` values of each row, [m][k/act_group]
  // (then scale holds 1 per row in integer mode and is null in emulate mode).
  const float* group_scale = nullptr;
  int64_t act_group = 0;
};

// y[m][n] = in · Wᵀ (+ bias) with the layer's kernel. FPTQ_CHECKs that an
// integer layer gets int8 input with matching group sums.
// Several layers reading the same input (q/k/v, gate/up): ys[i] = in · Ls[i]ᵀ,
// bit for bit what linear() computes, in one parallel loop when they all run
// on the same integer kernel (one synchronisation per decode step instead of
// n), else one linear() each.
void linear_multi(const MatmulIn& in, const Linear* const* Ls, float* const* ys, int n, int64_t m,
                  ThreadPool& pool);

// Profiled (model/profile.h) as the output head when `head`, else by kernel.
void linear(const MatmulIn& in, const Linear& L, float* y, int64_t m, ThreadPool& pool,
            bool head = false);

}  // namespace fptq::model
