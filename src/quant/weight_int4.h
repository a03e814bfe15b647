// Symmetric group-wise int4 weights (fptq-method.md §5) and their Q4_0 form.
//
// A linear weight w: [n][k] row-major is cut along K into groups of `group`
// consecutive elements; each (row, group) gets one scale d and codes
//   q = clamp(nearbyint(w / d), qmin, 7),   ŵ = q · d.
// Scales are rounded to fp16 FIRST and the codes computed with the rounded
// scale, because Q4_0 stores d as fp16: what we compute is exactly what a
// Q4_0 reader reconstructs. A scale may be negative (the q4_0 rule maps the
// signed extreme to −8, so a positive extreme gives d < 0).
//
// Scale rules for one group with signed extreme w_e (largest |w|):
//   Absmax7  d = |w_e| / 7,  levels −7..7 (qmin = −7)
//   Q4_0     d = w_e / −8,   levels −8..7 (default; ggml's rule, all 16 levels)
//   Search   the fp16 scale minimising Σ (ŵ − w)² over a grid of candidates
//            d = r·w_e/−8 and d = r·w_e/7, r = 0.70, 0.72, …, 1.20, tried in
//            that order starting with the plain Q4_0 scale (so per group it is
//            never worse than Q4_0), then refined by least squares
//            d* = Σ w·q / Σ q² while that lowers the error. Levels −8..7.
//   Weighted the fp16 scale minimising Σ_j a_j (ŵ_j − w_j)² with a_j the
//            importance of input channel j (the calibration mean of x_j², the
//            diagonal of the layer's output error E[(Σ_j (ŵ_j − w_j) x_j)²];
//            llama.cpp's importance-matrix quantization weighs the same way):
//            candidates d = r·w_e/−8 and d = r·w_e/7, r = 0.60, 0.62, …, 1.30,
//            each also refitted by weighted least squares for its codes
//            (d* = Σ a w q / Σ a q²), the plain Q4_0 scale first (so per group
//            it is never worse than Q4_0 on the weighted objective). Levels
//            −8..7. Without importance (an empty span) a_j = 1.
// An all-zero group (or one whose scale rounds to fp16 zero) gets d = 0 and
// codes 0.
//
// Grids. Uniform: the level of code q is q (the table above). Nl: the level of
// code q is kIq4NlLevels[q + 8], the 16 non-uniform levels of ggml's IQ4_NL
// type (denser near 0, as the bell-shaped weight distributions of LLMs are);
// ŵ = d · level, the code of w is the nearest level to w / d (the lower one on
// a tie), and the rules use the extreme levels −127 and 113 where the uniform
// grid uses −8 and 7: Q4_0 d = w_e / −127; Weighted tries r·w_e/−127 and
// r·w_e/113 for the same r, with the same refit. Nl codes pack as IQ4_NL
// blocks (the byte layout of Q4_0, nibble = q + 8 indexes the table).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/ggml_blocks.h"

namespace fptq::quant {

enum class ScaleRule { Absmax7, Q4_0, Search, Weighted };

// Auto (a choice, never a result's grid): per tensor, the grid whose result
// has the lower Σ_i Σ_j a_j (ŵ_ij − w_ij)² (the rule's own objective; a_j = 1
// without importance), Uniform on a tie.
enum class Int4Grid { Uniform, Nl, Auto };
// "uniform", "nl", "auto".
std::string_view int4_grid_name(Int4Grid grid);

// ggml's IQ4_NL levels (the format's table), indexed by code + 8.
inline constexpr const int8_t (&kIq4NlLevels)[16] = io::kIq4NlValues;
// The level of code q (−8..7) on `grid` (Uniform or Nl): q, or kIq4NlLevels[q + 8].
inline int int4_level(int q, Int4Grid grid) {
  return grid == Int4Grid::Nl ? kIq4NlLevels[q + 8] : q;
}

// "absmax7", "q4_0", "search", "weighted".
std::string_view scale_rule_name(ScaleRule rule);
// Inverse of scale_rule_name; throws fptq::Error for any other string.
ScaleRule parse_scale_rule(std::string_view name);

inline constexpr int kInt4QMax = 7;
// Smallest code the rule uses: −7 for Absmax7, −8 otherwise.
int int4_qmin(ScaleRule rule);

struct Int4Config {
  int64_t group = 128;  // 32, 64, 128, 256, or 0 = per-channel (one group = the row)
  ScaleRule rule = ScaleRule::Q4_0;
  // Weighted: per input channel importance a_j >= 0, [k] (non-owning; empty:
  // uniform). Ignored by the other rules.
  std::span<const float> importance;
  // Nl / Auto: Q4_0 and Weighted only (Absmax7 and Search are uniform rules).
  Int4Grid grid = Int4Grid::Uniform;
};

enum class Int4Status {
  Ok,
  KNotDivisible,  // k % group != 0: nothing quantized, keep the tensor in 8-bit or FP
};
std::string_view int4_status_name(Int4Status s);  // "ok", "k_not_divisible"

struct Int4Weights {
  Int4Status status = Int4Status::Ok;
  std::string message;  // human-readable reason when status != Ok
  int64_t n = 0, k = 0;
  int64_t group = 0;    // elements per scale along K (== k for per-channel)
  ScaleRule rule = ScaleRule::Q4_0;
  Int4Grid grid = Int4Grid::Uniform;  // Uniform or Nl: ŵ = int4_level(code, grid) · scale
  std::vector<int8_t> codes;  // [n][k], in int4_qmin(rule)..7; empty unless Ok
  std::vector<float> scales;  // [n][k / group], each exactly an fp16 value; empty unless Ok

  int64_t groups_per_row() const { return group > 0 ? k / group : 0; }
};

// The fp16-rounded scale of one group w: [g] under `rule` (see the table above).
// Throws fptq::Error when the scale overflows fp16 (|w| above ~5e5) or w holds
// a non-finite value.
float int4_group_scale(std::span<const float> w, ScaleRule rule);
// The same with the importance a: [g] of the group's channels (Weighted; the
// other rules ignore it). Throws also when a holds a negative or non-finite value.
float int4_group_scale(std::span<const float> w, ScaleRule rule, std::span<const float> a,
                       Int4Grid grid = Int4Grid::Uniform);
// Σ_j a_j (level(q_j)·d − w_j)² of the group under scale d (a empty: a_j = 1).
double int4_weighted_error(std::span<const float> w, std::span<const float> a, float d,
                           Int4Grid grid = Int4Grid::Uniform);
// The code of w for scale d: clamp(nearbyint(w / d), qmin, 7); 0 when d == 0.
int8_t int4_code(float w, float d, int qmin);
// The code of w for scale d on `grid` (Uniform: int4_code with qmin −8; Nl:
// the nearest level, the lower on a tie); the code of level 1 (q = 0) when
// d == 0.
int8_t int4_grid_code(float w, float d, Int4Grid grid);

// w: [n][k] row-major. Returns codes [n][k] and scales [n][k/g].
// Throws fptq::Error when w.size() != n·k, n < 0, k <= 0, the group is not one
// of {0, 32, 64, 128, 256}, or a value is not finite. When k % group != 0 it
// returns status KNotDivisible with a message and no codes (never a silent
// per-channel fallback).
Int4Weights quantize_int4(std::span<const float> w, int64_t n, int64_t k, const Int4Config& cfg);

// ŵ: [n][k] row-major, ŵ[i, j] = int4_level(codes[i, j], grid) · scales[i, j / group]. Requires Ok.
std::vector<float> dequantize_int4(const Int4Weights& q);

// Q4_0 blocks (IQ4_NL blocks for the Nl grid: the same bytes): [n][k/32], row-major; block (i, b) holds elements 32b..32b+31 of
// row i with d = the scale of their group (repeated in every 32-block of the
// group) and nibble = q + 8 (byte j: element j low, element j+16 high).
// Throws fptq::Error unless status is Ok and 32 divides both k and group.
std::vector<io::BlockQ4_0> pack_q4_0(const Int4Weights& q);

// blocks: [n][k/32]. True when in every row the 32-blocks of each group of
// `group` elements along K carry bit-identical d (what pack_q4_0 writes).
// group must be a positive multiple of 32 dividing k; throws fptq::Error otherwise
// or when blocks.size() != n·k/32.
bool q4_0_uniform_in_groups(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                            int64_t group);

// The largest group size in {k (per-channel), 256, 128, 64, 32} that divides k
// and for which the tensor is uniform (32 always is). k must be a positive
// multiple of 32.
int64_t q4_0_detect_group(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k);

// Inverse of pack_q4_0 for a tensor uniform in groups of `group`: codes
// (nibble − 8) and one fp16 scale per group; rule is reported as Q4_0.
// Throws fptq::Error when the tensor is not uniform in such groups.
Int4Weights unpack_q4_0(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                        int64_t group);
// The same for IQ4_NL blocks (the layout of Q4_0): grid Nl.
Int4Weights unpack_iq4_nl(std::span<const io::BlockQ4_0> blocks, int64_t n, int64_t k,
                          int64_t group);

}  // namespace fptq::quant
