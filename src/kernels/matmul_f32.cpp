#include "kernels/matmul_f32.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels {
namespace {

// Cache blocking of the GEMM driver (sizes for a ~32 KiB L1 / 1 MiB L2 core):
// a task owns a [~kRowsPerBlock rows] x [panels_per_task * 32 cols] block of
// y and walks k in slices of kKc, so one W panel slice ([kKc][32], 32 KiB) is
// reused from L1/L2 by every row tile of the block, and the x slice
// ([kRowsPerBlock][kKc], 112 KiB) from L2 by every panel.
constexpr int64_t kKc = 256;
constexpr int64_t kRowsPerBlock = 112;
constexpr int64_t kMaxPanelsPerTask = 8;
// Enough tasks per thread that dynamic hand-out evens out ragged blocks.
constexpr int64_t kTasksPerThread = 4;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// f[r][c] = fma(part[r][c], s[c], f[r][c]) for the tile (row stride 32).
// fma rounds once on every ISA, so the hardware instruction (where the ISA
// has it) and the library call give the same bits.
__attribute__((target("avx2,fma"))) void fold_fma_hw(float* f, const float* part, const float* s,
                                                     int rows, int cols) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) f[r * 32 + c] = std::fma(part[r * 32 + c], s[c], f[r * 32 + c]);
}
void fold_fma_sw(float* f, const float* part, const float* s, int rows, int cols) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) f[r * 32 + c] = std::fma(part[r * 32 + c], s[c], f[r * 32 + c]);
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

// x: [m][k] -> micro-panels of mr rows, each [k][mr] (row r of panel i at
// column r; rows past m are left unset and never read).
void pack_rows(const float* x, int64_t m, int64_t k, int64_t mr, float* out, ThreadPool& pool) {
  const int64_t n_micro = ceil_div(m, mr);
  pool.parallel_for(n_micro, [&](int64_t i, int) {
    const int64_t rows = std::min(mr, m - i * mr);
    float* dst = out + i * k * mr;
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = x + (i * mr + r) * k;
      for (int64_t t = 0; t < k; ++t) dst[t * mr + r] = src[t];
    }
  });
}

}  // namespace

struct PackedF32::Impl {
  int64_t n = 0;
  int64_t k = 0;
  int64_t n_panels = 0;
  std::unique_ptr<float[], AlignedFree> data;  // [n_panels][k][32], 64-byte aligned
};

PackedF32::PackedF32() : impl_(std::make_unique<Impl>()) {}
PackedF32::~PackedF32() = default;
PackedF32::PackedF32(PackedF32&&) noexcept = default;
PackedF32& PackedF32::operator=(PackedF32&&) noexcept = default;
int64_t PackedF32::n() const { return impl_ ? impl_->n : 0; }
int64_t PackedF32::k() const { return impl_ ? impl_->k : 0; }

PackedF32 pack_f32(const float* w, int64_t n, int64_t k) {
  if (n < 0 || k < 0) fail("pack_f32: negative shape n={} k={}", n, k);
  if (n > 0 && k > (int64_t(1) << 40) / n) fail("pack_f32: shape n={} k={} too large", n, k);
  if (w == nullptr && n * k > 0) fail("pack_f32: null weights for shape n={} k={}", n, k);
  PackedF32 p;
  PackedF32::Impl& im = *p.impl_;
  im.n = n;
  im.k = k;
  im.n_panels = ceil_div(n, kPanelWidth);
  const size_t count = size_t(im.n_panels * k * kPanelWidth);
  if (count == 0) return p;
  const size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  im.data.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
  if (!im.data) fail("pack_f32: cannot allocate {} bytes for n={} k={}", bytes, n, k);
  for (int64_t panel = 0; panel < im.n_panels; ++panel) {
    float* dst = im.data.get() + panel * k * kPanelWidth;
    for (int64_t j = 0; j < kPanelWidth; ++j) {
      const int64_t row = panel * kPanelWidth + j;
      if (row < n) {
        const float* src = w + row * k;
        for (int64_t t = 0; t < k; ++t) dst[t * kPanelWidth + j] = src[t];
      } else {
        for (int64_t t = 0; t < k; ++t) dst[t * kPanelWidth + j] = 0.0f;
      }
    }
  }
  return p;
}

void matmul_f32(const float* x, const PackedF32& w, float* y, int64_t m, ThreadPool& pool) {
  matmul_f32(x, w, y, m, pool, active_isa());
}

void matmul_f32(const float* x, const PackedF32& w, float* y, int64_t m, ThreadPool& pool,
                Isa isa) {
  const KernelTable& kt = kernels_for(isa);
  const PackedF32::Impl& p = w.impl();
  const int64_t n = p.n, k = p.k;
  if (m < 0) fail("matmul_f32: negative row count m={}", m);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(y, y + m * n, 0.0f);
    return;
  }
  const float* wdata = p.data.get();
  const int64_t threads = pool.size();

  if (m == 1) {
    // Decode: stream the panels, a run of whole panels per task.
    const int64_t per_task = ceil_div(p.n_panels, threads * kTasksPerThread);
    pool.parallel_for(ceil_div(p.n_panels, per_task), [&](int64_t task, int) {
      const int64_t p0 = task * per_task;
      const int64_t np = std::min(per_task, p.n_panels - p0);
      const int64_t cols = std::min(np * kPanelWidth, n - p0 * kPanelWidth);
      kt.gemv_f32(k, x, wdata + p0 * k * kPanelWidth, np, y + p0 * kPanelWidth, cols);
    });
    return;
  }

  // Prefill: x packed once into row micro-panels, then blocks of y as tasks.
  const int64_t mr = kt.gemm_mr;
  const int64_t n_micro = ceil_div(m, mr);
  thread_local std::vector<float> packed_x;  // the caller's scratch, reused across calls
  if (packed_x.size() < size_t(n_micro * mr * k)) packed_x.resize(size_t(n_micro * mr * k));
  const float* xp = packed_x.data();
  pack_rows(x, m, k, mr, packed_x.data(), pool);

  const int64_t micro_per_block = std::max<int64_t>(1, kRowsPerBlock / mr);
  const int64_t row_blocks = ceil_div(n_micro, micro_per_block);
  int64_t per_task = kMaxPanelsPerTask;
  while (per_task > 1 && row_blocks * ceil_div(p.n_panels, per_task) < threads * kTasksPerThread)
    per_task /= 2;
  const int64_t col_blocks = ceil_div(p.n_panels, per_task);
  // With a single row tile nothing reuses a W slice, so do not slice k: each
  // panel then streams front to back in one pass (small-batch decode).
  const int64_t k_slice = n_micro == 1 ? k : kKc;

  pool.parallel_for(row_blocks * col_blocks, [&](int64_t task, int) {
    const int64_t i0 = (task % row_blocks) * micro_per_block;
    const int64_t i1 = std::min(i0 + micro_per_block, n_micro);
    const int64_t p0 = (task / row_blocks) * per_task;
    const int64_t p1 = std::min(p0 + per_task, p.n_panels);
    for (int64_t t0 = 0; t0 < k; t0 += k_slice) {
      const int64_t kc = std::min(k_slice, k - t0);
      for (int64_t pi = p0; pi < p1; ++pi) {
        const int cols = int(std::min<int64_t>(kPanelWidth, n - pi * kPanelWidth));
        const float* b = wdata + pi * k * kPanelWidth + t0 * kPanelWidth;
        for (int64_t i = i0; i < i1; ++i) {
          const int rows = int(std::min(mr, m - i * mr));
          kt.gemm_f32_micro(kc, xp + i * k * mr + t0 * mr, mr, b, y + i * mr * n + pi * kPanelWidth,
                            n, rows, cols, t0 > 0);
        }
      }
    }
  });
}

void matmul_f32_grouped(const float* x, const PackedF32& w, const float* scales, int64_t group,
                        const float* a, float* y, int64_t m, ThreadPool& pool, XGroupScales xg) {
  matmul_f32_grouped(x, w, scales, group, a, y, m, pool, active_isa(), xg);
}

void matmul_f32_grouped(const float* x, const PackedF32& w, const float* scales, int64_t group,
                        const float* a, float* y, int64_t m, ThreadPool& pool, Isa isa,
                        XGroupScales xg) {
  const KernelTable& kt = kernels_for(isa);
  const PackedF32::Impl& p = w.impl();
  const int64_t n = p.n, k = p.k;
  if (m < 0) fail("matmul_f32_grouped: negative row count m={}", m);
  if (group < 1 || k % group != 0)
    fail("matmul_f32_grouped: group {} does not divide k={}", group, k);
  if (xg.scale != nullptr && (xg.group <= 0 || xg.group % group != 0 || k % xg.group != 0))
    fail("matmul_f32_grouped: activation group {} is not a multiple of the weight group {} "
         "dividing k={}",
         xg.group, group, k);
  if (m == 0 || n == 0) return;
  const int64_t n_groups = k / group;
  const int64_t mr = kt.gemm_mr;
  FPTQ_CHECK(mr <= 16);
  static_assert(kPanelWidth == 32);
  const int64_t n_micro = ceil_div(m, mr);
  thread_local std::vector<float> packed_x;  // the caller's scratch, reused across calls
  if (packed_x.size() < size_t(n_micro * mr * k)) packed_x.resize(size_t(n_micro * mr * k));
  const float* xp = packed_x.data();
  if (k > 0) pack_rows(x, m, k, mr, packed_x.data(), pool);
  const float* wdata = p.data.get();

  // One task per (row micro-panel, panel): the group sums of one register
  // tile go straight into its float accumulators.
  pool.parallel_for(n_micro * p.n_panels, [&](int64_t task, int) {
    const int64_t i = task % n_micro, pi = task / n_micro;
    const int rows = int(std::min(mr, m - i * mr));
    const int cols = int(std::min<int64_t>(kPanelWidth, n - pi * kPanelWidth));
    float f[16][kPanelWidth] = {};
    float part[16 * kPanelWidth];
    for (int64_t G = 0; G < n_groups; ++G) {
      kt.gemm_f32_micro(group, xp + i * k * mr + G * group * mr, mr,
                        wdata + pi * k * kPanelWidth + G * group * kPanelWidth, part, kPanelWidth,
                        rows, cols, false);
      const float* sg = scales + G * n + pi * kPanelWidth;
      if (xg.scale != nullptr) {
        // Per row: the weight scales times the row's activation-group Δ
        // (one rounding, as the integer tiles form it), then the same fma.
        const int64_t xgi = G * group / xg.group, ldxg = k / xg.group;
        float srow[kPanelWidth];
        for (int r = 0; r < rows; ++r) {
          const float d = xg.scale[(i * mr + r) * ldxg + xgi];
          for (int c = 0; c < cols; ++c) srow[c] = sg[c] * d;
          (isa == Isa::Ref ? fold_fma_sw : fold_fma_hw)(&f[r][0], part + r * kPanelWidth, srow, 1,
                                                        cols);
        }
      } else {
        (isa == Isa::Ref ? fold_fma_sw : fold_fma_hw)(&f[0][0], part, sg, rows, cols);
      }
    }
    for (int r = 0; r < rows; ++r) {
      const float ar = a == nullptr ? 1.0f : a[i * mr + r];
      float* yr = y + (i * mr + r) * n + pi * kPanelWidth;
      for (int c = 0; c < cols; ++c) yr[c] = a == nullptr ? f[r][c] : ar * f[r][c];
    }
  });
}

}  // namespace fptq::kernels
