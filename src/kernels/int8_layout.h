// The compute layout of the integer (W4A8, W8A8) kernels: packed weight
// blocks, per-panel scale arrays and the argument block of one register tile.
// The layout is the same for every ISA (packing happens once, at load), so a
// model packed once runs on ref, avx2 and avx512vnni alike.
//
// A weight matrix W[n][k] (n outputs, k inputs, y = x · Wᵀ) is cut into
// panels of kIntPanelCols = 16 output columns (rows n past the end are zero
// weights with zero scale). Within a panel, k is walked in "steps":
//   W4: a step is 8 k values (an octet), stored in one W4Octet (64 bytes);
//   W8: a step is 4 k values (a quad), stored in one W8Quad (64 bytes).
// In both, 32-bit lane c (bytes 4c .. 4c+3) belongs to output column c of the
// panel and holds four consecutive k values, so one vpdpbusd (or vpmaddubsw +
// vpmaddwd) against a broadcast 4-byte chunk of x yields 16 (or 8) column
// partial sums at once.
#pragma once

#include <cstdint>

namespace fptq::kernels {

inline constexpr int kIntPanelCols = 16;  // output columns per packed panel
inline constexpr int kIntTilePanels = 4;  // panels per register tile (64 columns)
inline constexpr int kIntTileCols = kIntPanelCols * kIntTilePanels;
inline constexpr int kIntMaxTileRows = 8;  // largest mr of any ISA's integer tile

// W4 weights of one panel for k values 8o .. 8o+7, as unsigned codes
// u = q + 8 in 0..15 (q in -8..7 is the signed int4 code: w = q · s; on the
// IQ4_NL grid w = io::kIq4NlValues[u] · s, the tile looking the level up).
// Byte 4c + j (c < 16 columns, j < 4):
//   low nibble  = u[c][8o + j]
//   high nibble = u[c][8o + 4 + j]
// So (byte & 15) is the quad 8o..8o+3 and (byte >> 4) the quad 8o+4..8o+7.
struct W4Octet {
  uint8_t b[64];
};
static_assert(sizeof(W4Octet) == 64);

// W8 weights of one panel for k values 4t .. 4t+3, signed int8 codes in
// -127..127. Byte 4c + j = q[c][4t + j].
struct W8Quad {
  int8_t b[64];
};
static_assert(sizeof(W8Quad) == 64);

// One register tile of an integer GEMM: rows 0..rows-1 of x against the
// kIntTilePanels panels starting at w (all panels exist: packing pads n to a
// multiple of kIntTileCols), writing columns 0..cols-1 of y.
//
// Per output (r, j) and group G = [G·group, (G+1)·group):
//   P_G = Σ_{t∈G} x[r][t] · q[j][t]                        exact int32
// float mode:    f = 0; for G = 0, 1, ...: f = fma(float(P_G), s[G][j], f)
//                y[r][j] = a_r · f
//   with per-group activation scales (xg): s[G][j] is replaced by the
//   rounded product s[G][j] · xg[r][G / xg_div]
// integer scale: acc = Σ_G int64(P_G · S[G][j])  (P_G · S exact in int32,
//                proven in tests/kernels/int_scale_bound_test.cpp)
//                y[r][j] = a_r · (c[j] · float(acc))
// with a_r = a[r · a_stride]. float(·) rounds to nearest even, fma rounds
// once: every ISA computes these exact operations, so results agree bit for
// bit with ref.
// Per-group activation scales of an int8 input: scale[r·(k/group) + g] is Δ
// of values g·group .. (g+1)·group − 1 of row r (one Δ per `group` values
// of a token instead of one per token). group is a multiple of the weights'
// group and divides k; scale == nullptr: none (per-row Δ only).
struct XGroupScales {
  const float* scale = nullptr;
  int64_t group = 0;
};

struct IntTileArgs {
  int64_t k = 0;      // multiple of group
  int64_t group = 0;  // W4: multiple of 32; W8: multiple of 4
  const int8_t* x = nullptr;  // row r: x + r·ldx, [k] int8 (any alignment)
  int64_t ldx = 0;
  // W4 only: xsum[r·ldxs + G] = Σ_{t∈G} x[r][t] (kernels that use the
  // unsigned weight form subtract 8·xsum; see group_sums_i8).
  const int32_t* xsum = nullptr;
  int64_t ldxs = 0;
  const float* a = nullptr;  // a[r · a_stride]: per-row activation scale
  int64_t a_stride = 0;      // 1 per token, 0 one static scale
  // Optional per-group activation scales (float mode only): group G of row r
  // is scaled by xg[r·ldxg + G / xg_div] (xg_div weight groups per
  // activation group), multiplied into the weight scale.
  const float* xg = nullptr;
  int64_t ldxg = 0;
  int64_t xg_div = 1;
  // Panel p (p < kIntTilePanels) of the weights starts at
  //   w + p·(k/8)·64 bytes (W4Octet[k/8]) or w + p·(k/4)·64 (W8Quad[k/4]),
  // its scales at s + p·(k/group)·16: [k/group][16] floats, and likewise
  // s_int and wsum; its integer-scale output factors at c + p·16.
  const uint8_t* w = nullptr;
  const float* s = nullptr;        // float mode (f32 scales)
  // Float mode, compact packing: the scales as fp16 (exact: every scale was
  // fp16-representable, as Q4_0 / Q8_0 scales are) in place of s, and W8's
  // group sums as int16 in place of wsum. Bit-identical results, fewer bytes.
  const uint16_t* s16 = nullptr;
  const int16_t* wsum16 = nullptr;
  const int32_t* s_int = nullptr;  // integer-scale mode (W4 only); null → float mode
  const float* c = nullptr;        // integer-scale mode: [16] per panel
  const int32_t* wsum = nullptr;   // W8: [k/group][16] Σ_{t∈G} q (for offset kernels)
  float* y = nullptr;              // row r: y + r·ldy, columns 0..cols-1
  int64_t ldy = 0;
  int rows = 0;  // 1 .. the table's int_mr
  int cols = 0;  // 1 .. kIntTileCols
};

}  // namespace fptq::kernels
