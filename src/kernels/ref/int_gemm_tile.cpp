// Scalar twins of the integer GEMM register tiles (contract and layout:
// kernels/int8_layout.h). Signed codes, plain int32 dot products per group,
// then exactly the float (or int64) steps the SIMD tiles perform.
#include <cmath>

#include "core/half.h"
#include "io/ggml_blocks.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels::ref {
namespace {

// Signed W4 code of column c, k index t of one panel (W4Octet[k/8]).
int w4_code(const uint8_t* panel, int c, int64_t t) {
  const uint8_t byte = panel[(t / 8) * 64 + 4 * c + (t % 4)];
  const int u = (t % 8) < 4 ? (byte & 15) : (byte >> 4);
  return u - 8;
}

// IQ4_NL level of column c, k index t of one panel (the W4 nibble indexes
// io::kIq4NlValues).
int w4_nl_level(const uint8_t* panel, int c, int64_t t) {
  return io::kIq4NlValues[w4_code(panel, c, t) + 8];
}

// Signed W8 code of column c, k index t of one panel (W8Quad[k/4]).
int w8_code(const uint8_t* panel, int c, int64_t t) {
  return int8_t(panel[(t / 4) * 64 + 4 * c + (t % 4)]);
}

template <class Code>
void int_tile(const IntTileArgs& a, int64_t panel_bytes, Code code) {
  const int64_t n_groups = a.k / a.group;
  for (int r = 0; r < a.rows; ++r) {
    const int8_t* x = a.x + r * a.ldx;
    const float ar = a.a[r * a.a_stride];
    for (int j = 0; j < a.cols; ++j) {
      const int p = j / kIntPanelCols, c = j % kIntPanelCols;
      const uint8_t* panel = a.w + p * panel_bytes;
      const int64_t sp = p * n_groups * kIntPanelCols + c;  // scale of group G at sp + 16·G
      float f = 0.0f;
      int64_t acc = 0;
      for (int64_t G = 0; G < n_groups; ++G) {
        int32_t pg = 0;
        for (int64_t t = G * a.group; t < (G + 1) * a.group; ++t) pg += int32_t(x[t]) * code(panel, c, t);
        if (a.s_int != nullptr)
          acc += int64_t(pg * a.s_int[sp + G * kIntPanelCols]);
        else {
          float sw = a.s16 != nullptr ? fp16_to_f32(a.s16[sp + G * kIntPanelCols])
                                      : a.s[sp + G * kIntPanelCols];
          if (a.xg != nullptr) sw = sw * a.xg[r * a.ldxg + G / a.xg_div];
          f = std::fma(float(pg), sw, f);
        }
      }
      if (a.s_int != nullptr) f = a.c[p * kIntPanelCols + c] * float(acc);
      a.y[r * a.ldy + j] = ar * f;
    }
  }
}

}  // namespace

void w4a8_tile(const IntTileArgs& t) { int_tile(t, (t.k / 8) * 64, w4_code); }

void w4a8_nl_tile(const IntTileArgs& t) { int_tile(t, (t.k / 8) * 64, w4_nl_level); }

void w8a8_tile(const IntTileArgs& t) { int_tile(t, (t.k / 4) * 64, w8_code); }

}  // namespace fptq::kernels::ref
