#include "kernels/int_gemm_driver.h"

#include <algorithm>

#include <climits>
#include <cmath>

#include "core/error.h"
#include "core/half.h"

namespace fptq::kernels {
namespace {

// Cache blocking: a task owns a block of up to kRowsPerBlock rows x a run of
// column tiles. Inside it walks column tile by column tile and, per tile, every
// row tile over the full k: the tile's weights (k·8 bytes per panel for W4,
// 64 KiB at k = 4096) stay in L2 while all row tiles of the block reuse them,
// and the x block ([96][k] int8, 384 KiB at k = 4096) stays in L2 across tiles.
constexpr int64_t kRowsPerBlock = 96;
constexpr int64_t kMaxTilesPerTask = 8;
constexpr int64_t kTasksPerThread = 4;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

int64_t PackedIntImpl::bytes() const {
  return n_panels * panel_bytes +
         int64_t(s.size() * 4 + s_int.size() * 4 + c.size() * 4 + wsum.size() * 4 +
                 s16.size() * 2 + wsum16.size() * 2);
}

void compact_scales(PackedIntImpl& p) {
  if (p.integer_scale || p.s.empty()) return;
  for (float v : p.s)
    if (!(fp16_to_f32(f32_to_fp16(v)) == v)) return;
  for (int32_t v : p.wsum)
    if (v < INT16_MIN || v > INT16_MAX) return;
  p.s16.resize(p.s.size());
  for (size_t i = 0; i < p.s.size(); ++i) p.s16[i] = f32_to_fp16(p.s[i]);
  p.wsum16.assign(p.wsum.begin(), p.wsum.end());
  std::vector<float>().swap(p.s);
  std::vector<int32_t>().swap(p.wsum);
}

void alloc_panels(PackedIntImpl& p) {
  const size_t bytes = size_t((p.n_panels * p.panel_bytes + 63) / 64 * 64);
  if (bytes == 0) return;
  p.w.reset(static_cast<uint8_t*>(std::aligned_alloc(64, bytes)));
  if (!p.w) fail("packing int weights: cannot allocate {} bytes (n={} k={})", bytes, p.n, p.k);
  std::fill(p.w.get(), p.w.get() + bytes, uint8_t(0));
}

void run_int_gemm(const KernelTable& kt, const PackedIntImpl& p, const int8_t* x, const float* a,
                  int64_t a_stride, const int32_t* xsum, float* y, int64_t m, ThreadPool& pool) {
  const int64_t n = p.n, k = p.k;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(y, y + m * n, 0.0f);
    return;
  }
  const int64_t mr = kt.int_mr;
  const int64_t n_groups = k / p.group;
  const int64_t n_tiles = p.n_panels / kIntTilePanels;
  const int64_t rows_per_block = std::max<int64_t>(1, kRowsPerBlock / mr) * mr;
  const int64_t row_blocks = ceil_div(m, rows_per_block);
  const int64_t threads = pool.size();
  int64_t per_task = kMaxTilesPerTask;
  while (per_task > 1 && row_blocks * ceil_div(n_tiles, per_task) < threads * kTasksPerThread)
    per_task /= 2;
  const int64_t col_blocks = ceil_div(n_tiles, per_task);
  const auto tile_fn = p.w4 ? kt.w4a8_tile : kt.w8a8_tile;

  pool.parallel_for(row_blocks * col_blocks, [&](int64_t task, int) {
    const int64_t r0 = (task % row_blocks) * rows_per_block;
    const int64_t r1 = std::min(r0 + rows_per_block, m);
    const int64_t c0 = (task / row_blocks) * per_task;
    const int64_t c1 = std::min(c0 + per_task, n_tiles);
    IntTileArgs t;
    t.k = k;
    t.group = p.group;
    t.ldx = k;
    t.ldxs = n_groups;
    t.a_stride = a_stride;
    t.ldy = n;
    for (int64_t tile = c0; tile < c1; ++tile) {
      const int64_t panel = tile * kIntTilePanels;
      const int64_t sidx = panel * n_groups * kIntPanelCols;
      t.w = p.w.get() + panel * p.panel_bytes;
      t.s = p.s.empty() ? nullptr : p.s.data() + sidx;
      t.s_int = p.s_int.empty() ? nullptr : p.s_int.data() + sidx;
      t.c = p.c.empty() ? nullptr : p.c.data() + panel * kIntPanelCols;
      t.wsum = p.wsum.empty() ? nullptr : p.wsum.data() + sidx;
      t.s16 = p.s16.empty() ? nullptr : p.s16.data() + sidx;
      t.wsum16 = p.wsum16.empty() ? nullptr : p.wsum16.data() + sidx;
      t.cols = int(std::min<int64_t>(kIntTileCols, n - panel * kIntPanelCols));
      for (int64_t i = r0; i < r1; i += mr) {
        t.rows = int(std::min(mr, r1 - i));
        t.x = x + i * k;
        t.xsum = xsum == nullptr ? nullptr : xsum + i * n_groups;
        t.a = a + i * a_stride;
        t.y = y + i * n + panel * kIntPanelCols;
        tile_fn(t);
      }
    }
  });
}

}  // namespace fptq::kernels
