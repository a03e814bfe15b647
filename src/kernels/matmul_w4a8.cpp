#include "kernels/matmul_w4a8.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/ggml_blocks.h"
#include "kernels/int_gemm_driver.h"
#include "kernels/quantize_i8.h"

namespace fptq::kernels {
namespace {

constexpr int64_t kMaxIntScaleGroup = 1024;  // P_G · S_int < 2^31 (see matmul_w4a8.h)
constexpr float kIntScaleAlpha = 1024.0f;    // α = 2^10

void check_shape(const char* what, int64_t n, int64_t k, int64_t group) {
  if (n < 0 || k < 0) fail("{}: negative shape n={} k={}", what, n, k);
  if (n > 0 && k > (int64_t(1) << 40) / n) fail("{}: shape n={} k={} too large", what, n, k);
  if (group < 32 || group % 32 != 0 || k % group != 0)
    fail("{}: group {} must be a multiple of 32 dividing k={}", what, group, k);
}

// Packs codes (via code(row, t) in -8..7) and scales (scale(row, G)).
template <class Code, class Scale>
PackedIntImpl pack(int64_t n, int64_t k, int64_t group, W4Scale mode, W4Grid grid, Code code,
                   Scale scale) {
  if (mode == W4Scale::Integer && grid == W4Grid::Nl)
    fail("pack_w4: integer scales are not supported with IQ4_NL levels");
  PackedIntImpl p;
  p.w4 = true;
  p.nl = grid == W4Grid::Nl;
  p.integer_scale = mode == W4Scale::Integer;
  p.n = n;
  p.k = k;
  p.group = group;
  p.n_panels = (n + kIntTileCols - 1) / kIntTileCols * kIntTilePanels;
  p.panel_bytes = (k / 8) * 64;
  const int64_t n_groups = k / group;
  alloc_panels(p);
  const size_t n_scales = size_t(p.n_panels * n_groups * kIntPanelCols);
  if (p.integer_scale) {
    p.s_int.assign(n_scales, 0);
    p.c.assign(size_t(p.n_panels * kIntPanelCols), 0.0f);
  } else {
    p.s.assign(n_scales, 0.0f);
  }
  std::vector<float> row_scales(static_cast<size_t>(n_groups));
  for (int64_t j = 0; j < p.n_panels * kIntPanelCols; ++j) {
    const int64_t panel = j / kIntPanelCols, c = j % kIntPanelCols;
    uint8_t* pw = p.w.get() + panel * p.panel_bytes;
    for (int64_t t = 0; t < k; ++t) {
      int q = 0;  // padding rows: code 0 (u = 8), scale 0
      if (j < n) {
        q = code(j, t);
        if (q < -8 || q > 7) fail("pack_w4: code {} at row {} column {} is outside -8..7", q, j, t);
      }
      const uint8_t u = uint8_t(q + 8);
      uint8_t& byte = pw[(t / 8) * 64 + 4 * c + (t % 4)];
      byte |= (t % 8) < 4 ? u : uint8_t(u << 4);
    }
    if (j >= n) continue;
    float smax = 0.0f;
    for (int64_t G = 0; G < n_groups; ++G) {
      const float s = scale(j, G);
      if (!std::isfinite(s)) fail("pack_w4: scale {} of row {} group {} is not finite", s, j, G);
      row_scales[size_t(G)] = s;
      smax = std::max(smax, std::fabs(s));
    }
    const int64_t base = panel * n_groups * kIntPanelCols + c;
    for (int64_t G = 0; G < n_groups; ++G) {
      const float s = row_scales[size_t(G)];
      if (!p.integer_scale)
        p.s[size_t(base + G * kIntPanelCols)] = s;
      else
        p.s_int[size_t(base + G * kIntPanelCols)] =
            smax > 0.0f ? int32_t(std::nearbyint(s / smax * kIntScaleAlpha)) : 0;
    }
    if (p.integer_scale) p.c[size_t(j)] = smax / kIntScaleAlpha;
  }
  compact_scales(p);
  return p;
}

}  // namespace

PackedW4::PackedW4() : impl_(std::make_unique<PackedIntImpl>()) {}
PackedW4::~PackedW4() = default;
PackedW4::PackedW4(PackedW4&&) noexcept = default;
PackedW4& PackedW4::operator=(PackedW4&&) noexcept = default;
int64_t PackedW4::n() const { return impl_->n; }
int64_t PackedW4::k() const { return impl_->k; }
int64_t PackedW4::group() const { return impl_->group; }
W4Scale PackedW4::scale_mode() const {
  return impl_->integer_scale ? W4Scale::Integer : W4Scale::Float;
}
W4Grid PackedW4::grid() const { return impl_->nl ? W4Grid::Nl : W4Grid::Uniform; }
int64_t PackedW4::bytes() const { return impl_->bytes(); }

PackedW4 pack_w4(const int8_t* codes, const float* scales, int64_t n, int64_t k, int64_t group,
                 W4Scale mode, W4Grid grid) {
  check_shape("pack_w4", n, k, group);
  if (mode == W4Scale::Integer && group > kMaxIntScaleGroup)
    fail("pack_w4: integer scales need group <= {} (got {})", kMaxIntScaleGroup, group);
  if ((codes == nullptr || scales == nullptr) && n * k > 0) fail("pack_w4: null input");
  const int64_t n_groups = k / group;
  PackedW4 out;
  *out.impl_ = pack(
      n, k, group, mode, grid, [&](int64_t j, int64_t t) { return int(codes[j * k + t]); },
      [&](int64_t j, int64_t G) { return scales[j * n_groups + G]; });
  return out;
}

namespace {

// d bits of block b of row j (blocks may be unaligned: copy the bytes).
uint16_t q4_d_bits(const void* blocks, int64_t k, int64_t j, int64_t b) {
  uint16_t d;
  std::memcpy(&d, reinterpret_cast<const uint8_t*>(blocks) + (j * (k / 32) + b) * sizeof(io::BlockQ4_0), 2);
  return d;
}

bool q4_group_uniform(const void* blocks, int64_t n, int64_t k, int64_t group, int64_t* bad_row,
                      int64_t* bad_group) {
  const int64_t per = group / 32;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < k / 32; ++b)
      if (b % per != 0 && q4_d_bits(blocks, k, j, b) != q4_d_bits(blocks, k, j, b - b % per)) {
        *bad_row = j;
        *bad_group = b / per;
        return false;
      }
  return true;
}

}  // namespace

int64_t q4_0_uniform_group(const void* blocks, int64_t n, int64_t k, int64_t max_group) {
  if (k % 32 != 0 || k < 0 || n < 0) fail("q4_0_uniform_group: k={} is not a multiple of 32", k);
  int64_t bad_row = 0, bad_group = 0;
  for (int64_t g = max_group; g > 32; g /= 2)
    if (g % 32 == 0 && k % g == 0 && q4_group_uniform(blocks, n, k, g, &bad_row, &bad_group))
      return g;
  return 32;
}

PackedW4 pack_w4_from_q4_0(const void* blocks, int64_t n, int64_t k, int64_t group,
                           W4Scale mode, W4Grid grid) {
  if (k % 32 != 0) fail("pack_w4_from_q4_0: k={} is not a multiple of 32", k);
  check_shape("pack_w4_from_q4_0", n, k, group);
  if (mode == W4Scale::Integer && group > kMaxIntScaleGroup)
    fail("pack_w4_from_q4_0: integer scales need group <= {} (got {})", kMaxIntScaleGroup, group);
  if (blocks == nullptr && n * k > 0) fail("pack_w4_from_q4_0: null blocks");
  int64_t bad_row = 0, bad_group = 0;
  if (!q4_group_uniform(blocks, n, k, group, &bad_row, &bad_group))
    fail("pack_w4_from_q4_0: row {} group {} has differing Q4_0 scales (group {} is not uniform)",
         bad_row, bad_group, group);
  const auto* bytes = reinterpret_cast<const uint8_t*>(blocks);
  const int64_t bpr = k / 32;
  PackedW4 out;
  *out.impl_ = pack(
      n, k, group, mode, grid,
      [&](int64_t j, int64_t t) {
        const uint8_t* qs = bytes + (j * bpr + t / 32) * sizeof(io::BlockQ4_0) + 2;
        const int e = int(t % 32);
        const int nib = e < 16 ? (qs[e] & 15) : (qs[e - 16] >> 4);
        return nib - 8;
      },
      [&](int64_t j, int64_t G) {
        return fp16_to_f32(q4_d_bits(blocks, k, j, G * (group / 32)));
      });
  return out;
}

void matmul_w4a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const int32_t* x_group_sums, const PackedW4& w, float* y, int64_t m,
                 ThreadPool& pool, XGroupScales xg) {
  matmul_w4a8(xq, x_scale, x_scale_stride, x_group_sums, w, y, m, pool, active_isa(), xg);
}

void matmul_w4a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const int32_t* x_group_sums, const PackedW4& w, float* y, int64_t m,
                 ThreadPool& pool, Isa isa, XGroupScales xg) {
  const KernelTable& kt = kernels_for(isa);
  const PackedIntImpl& p = w.impl();
  if (m < 0) fail("matmul_w4a8: negative row count m={}", m);
  if (m == 0 || p.n == 0) return;
  const int32_t* sums = x_group_sums;
  thread_local std::vector<int32_t> scratch;  // the caller's, reused across calls
  if (sums == nullptr && p.k > 0) {
    scratch.resize(size_t(m * (p.k / p.group)));
    group_sums_rows_i8(xq, m, p.k, p.group, scratch.data(), isa);
    sums = scratch.data();
  }
  run_int_gemm(kt, p, xq, x_scale, x_scale_stride, sums, y, m, pool, xg.scale, xg.group);
}

void matmul_w4a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const int32_t* x_group_sums, const PackedW4* const* ws, float* const* ys,
                       int n, int64_t m, ThreadPool& pool, XGroupScales xg) {
  matmul_w4a8_multi(xq, x_scale, x_scale_stride, x_group_sums, ws, ys, n, m, pool, active_isa(), xg);
}

void matmul_w4a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const int32_t* x_group_sums, const PackedW4* const* ws, float* const* ys,
                       int n, int64_t m, ThreadPool& pool, Isa isa, XGroupScales xg) {
  if (m < 0) fail("matmul_w4a8_multi: negative row count m={}", m);
  if (n <= 0 || m == 0) return;
  std::vector<const PackedIntImpl*> ps;
  for (int i = 0; i < n; ++i) {
    if (ws[i]->k() != ws[0]->k() || ws[i]->group() != ws[0]->group())
      fail("matmul_w4a8_multi: weight {} has k={} group={}, weight 0 k={} group={}", i,
           ws[i]->k(), ws[i]->group(), ws[0]->k(), ws[0]->group());
    ps.push_back(&ws[i]->impl());
  }
  const PackedIntImpl& p = *ps[0];
  const int32_t* sums = x_group_sums;
  thread_local std::vector<int32_t> scratch;
  if (sums == nullptr && p.k > 0) {
    scratch.resize(size_t(m * (p.k / p.group)));
    group_sums_rows_i8(xq, m, p.k, p.group, scratch.data(), isa);
    sums = scratch.data();
  }
  run_int_gemm_multi(kernels_for(isa), ps.data(), ys, n, xq, x_scale, x_scale_stride, sums, m,
                     pool, xg.scale, xg.group);
}

}  // namespace fptq::kernels
