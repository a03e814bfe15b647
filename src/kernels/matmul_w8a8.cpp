#include "kernels/matmul_w8a8.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/ggml_blocks.h"
#include "kernels/int_gemm_driver.h"

namespace fptq::kernels {
namespace {

template <class Code, class Scale>
PackedIntImpl pack(int64_t n, int64_t k, int64_t group, Code code, Scale scale) {
  if (n < 0 || k < 0) fail("pack_w8: negative shape n={} k={}", n, k);
  if (n > 0 && k > (int64_t(1) << 40) / n) fail("pack_w8: shape n={} k={} too large", n, k);
  if (group < 4 || group % 4 != 0 || k % group != 0)
    fail("pack_w8: group {} must be a multiple of 4 dividing k={}", group, k);
  PackedIntImpl p;
  p.w4 = false;
  p.n = n;
  p.k = k;
  p.group = group;
  p.n_panels = (n + kIntTileCols - 1) / kIntTileCols * kIntTilePanels;
  p.panel_bytes = (k / 4) * 64;
  const int64_t n_groups = k / group;
  alloc_panels(p);
  p.s.assign(size_t(p.n_panels * n_groups * kIntPanelCols), 0.0f);
  p.wsum.assign(p.s.size(), 0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t panel = j / kIntPanelCols, c = j % kIntPanelCols;
    uint8_t* pw = p.w.get() + panel * p.panel_bytes;
    const int64_t base = panel * n_groups * kIntPanelCols + c;
    for (int64_t t = 0; t < k; ++t) {
      const int q = code(j, t);
      if (q < -127 || q > 127) fail("pack_w8: code {} at row {} column {} is outside -127..127", q, j, t);
      pw[(t / 4) * 64 + 4 * c + (t % 4)] = uint8_t(int8_t(q));
      p.wsum[size_t(base + (t / group) * kIntPanelCols)] += q;
    }
    for (int64_t G = 0; G < n_groups; ++G) {
      const float s = scale(j, G);
      if (!std::isfinite(s)) fail("pack_w8: scale {} of row {} group {} is not finite", s, j, G);
      p.s[size_t(base + G * kIntPanelCols)] = s;
    }
  }
  compact_scales(p);
  return p;
}

}  // namespace

PackedW8::PackedW8() : impl_(std::make_unique<PackedIntImpl>()) {}
PackedW8::~PackedW8() = default;
PackedW8::PackedW8(PackedW8&&) noexcept = default;
PackedW8& PackedW8::operator=(PackedW8&&) noexcept = default;
int64_t PackedW8::n() const { return impl_->n; }
int64_t PackedW8::k() const { return impl_->k; }
int64_t PackedW8::group() const { return impl_->group; }
int64_t PackedW8::bytes() const { return impl_->bytes(); }

PackedW8 pack_w8(const int8_t* codes, const float* scales, int64_t n, int64_t k, int64_t group) {
  if ((codes == nullptr || scales == nullptr) && n * k > 0) fail("pack_w8: null input");
  const int64_t n_groups = group > 0 ? k / group : 0;
  PackedW8 out;
  *out.impl_ = pack(
      n, k, group, [&](int64_t j, int64_t t) { return int(codes[j * k + t]); },
      [&](int64_t j, int64_t G) { return scales[j * n_groups + G]; });
  return out;
}

PackedW8 pack_w8_from_q8_0(const void* blocks, int64_t n, int64_t k) {
  if (k % 32 != 0) fail("pack_w8_from_q8_0: k={} is not a multiple of 32", k);
  if (blocks == nullptr && n * k > 0) fail("pack_w8_from_q8_0: null blocks");
  const auto* bytes = reinterpret_cast<const uint8_t*>(blocks);
  const int64_t bpr = k / 32;
  PackedW8 out;
  *out.impl_ = pack(
      n, k, 32,
      [&](int64_t j, int64_t t) {
        return int(int8_t(bytes[(j * bpr + t / 32) * sizeof(io::BlockQ8_0) + 2 + t % 32]));
      },
      [&](int64_t j, int64_t G) {
        uint16_t d;
        std::memcpy(&d, bytes + (j * bpr + G) * sizeof(io::BlockQ8_0), 2);
        return fp16_to_f32(d);
      });
  return out;
}

void matmul_w8a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const PackedW8& w, float* y, int64_t m, ThreadPool& pool, XGroupScales xg) {
  matmul_w8a8(xq, x_scale, x_scale_stride, w, y, m, pool, active_isa(), xg);
}

void matmul_w8a8(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                 const PackedW8& w, float* y, int64_t m, ThreadPool& pool, Isa isa, XGroupScales xg) {
  const KernelTable& kt = kernels_for(isa);
  if (m < 0) fail("matmul_w8a8: negative row count m={}", m);
  run_int_gemm(kt, w.impl(), xq, x_scale, x_scale_stride, nullptr, y, m, pool, xg.scale, xg.group);
}

void matmul_w8a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const PackedW8* const* ws, float* const* ys, int n, int64_t m,
                       ThreadPool& pool, XGroupScales xg) {
  matmul_w8a8_multi(xq, x_scale, x_scale_stride, ws, ys, n, m, pool, active_isa(), xg);
}

void matmul_w8a8_multi(const int8_t* xq, const float* x_scale, int64_t x_scale_stride,
                       const PackedW8* const* ws, float* const* ys, int n, int64_t m,
                       ThreadPool& pool, Isa isa, XGroupScales xg) {
  if (m < 0) fail("matmul_w8a8_multi: negative row count m={}", m);
  if (n <= 0 || m == 0) return;
  std::vector<const PackedIntImpl*> ps;
  for (int i = 0; i < n; ++i) {
    if (ws[i]->k() != ws[0]->k())
      fail("matmul_w8a8_multi: weight {} has k={}, weight 0 k={}", i, ws[i]->k(), ws[0]->k());
    ps.push_back(&ws[i]->impl());
  }
  run_int_gemm_multi(kernels_for(isa), ps.data(), ys, n, xq, x_scale, x_scale_stride, nullptr, m,
                     pool, xg.scale, xg.group);
}

}  // namespace fptq::kernels
