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
  p.s16 = PanelArray<uint16_t>(p.s.size(), "packing int weight scales");
  for (size_t i = 0; i < p.s.size(); ++i) p.s16[i] = f32_to_fp16(p.s[i]);
  p.wsum16 = PanelArray<int16_t>(p.wsum.size(), "packing int weight sums");
  for (size_t i = 0; i < p.wsum.size(); ++i) p.wsum16[i] = int16_t(p.wsum[i]);
  std::vector<float>().swap(p.s);
  std::vector<int32_t>().swap(p.wsum);
}

void alloc_panels(PackedIntImpl& p) {
  const size_t bytes = size_t(p.n_panels * p.panel_bytes);
  if (bytes == 0) return;
  p.w = alloc_panel_buffer(bytes, "packing int weights");
}

namespace {

// One task of the driver: rows [r0, r1) x column tiles [c0, c1) of job `job`.
struct IntTask {
  int job;
  int64_t r0, r1, c0, c1;
};

// Appends the tasks of one product (the cache blocking of run_int_gemm).
void plan_tasks(const KernelTable& kt, const PackedIntImpl& p, int job, int64_t m, int64_t threads,
                std::vector<IntTask>& out) {
  const int64_t mr = kt.int_mr;
  const int64_t n_tiles = p.n_panels / kIntTilePanels;
  const int64_t rows_per_block = std::max<int64_t>(1, kRowsPerBlock / mr) * mr;
  const int64_t row_blocks = ceil_div(m, rows_per_block);
  int64_t per_task = kMaxTilesPerTask;
  while (per_task > 1 && row_blocks * ceil_div(n_tiles, per_task) < threads * kTasksPerThread)
    per_task /= 2;
  const int64_t col_blocks = ceil_div(n_tiles, per_task);
  for (int64_t task = 0; task < row_blocks * col_blocks; ++task) {
    const int64_t r0 = (task % row_blocks) * rows_per_block;
    const int64_t c0 = (task / row_blocks) * per_task;
    out.push_back({job, r0, std::min(r0 + rows_per_block, m), c0, std::min(c0 + per_task, n_tiles)});
  }
}

// Runs one task: every column tile, and per tile every row tile over the full k.
void run_task(const KernelTable& kt, const PackedIntImpl& p, const IntTask& tk, const int8_t* x,
              const float* a, int64_t a_stride, const int32_t* xsum, float* y, const float* xg,
              int64_t xg_group) {
  const int64_t n = p.n, k = p.k;
  const int64_t mr = kt.int_mr;
  const int64_t n_groups = k / p.group;
  const auto tile_fn = !p.w4 ? kt.w8a8_tile : p.nl ? kt.w4a8_nl_tile : kt.w4a8_tile;
  IntTileArgs t;
  t.k = k;
  t.group = p.group;
  t.ldx = k;
  t.ldxs = n_groups;
  t.a_stride = a_stride;
  t.ldy = n;
  if (xg != nullptr) {
    t.ldxg = k / xg_group;
    t.xg_div = xg_group / p.group;
  }
  for (int64_t tile = tk.c0; tile < tk.c1; ++tile) {
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
    for (int64_t i = tk.r0; i < tk.r1; i += mr) {
      t.rows = int(std::min(mr, tk.r1 - i));
      t.x = x + i * k;
      t.xsum = xsum == nullptr ? nullptr : xsum + i * n_groups;
      t.a = a + i * a_stride;
      t.xg = xg == nullptr ? nullptr : xg + i * t.ldxg;
      t.y = y + i * n + panel * kIntPanelCols;
      tile_fn(t);
    }
  }
}

// Throws fptq::Error unless xg is empty or usable with p: float scale mode,
// xg.group a multiple of p.group that divides p.k.
void check_xg(const char* what, const PackedIntImpl& p, XGroupScales xg) {
  if (xg.scale == nullptr) return;
  if (p.integer_scale)
    fail("{}: per-group activation scales need float weight scales (integer-scale packing)", what);
  if (xg.group <= 0 || xg.group % p.group != 0 || p.k % xg.group != 0)
    fail("{}: activation group {} is not a multiple of the weight group {} dividing k={}", what,
         xg.group, p.group, p.k);
}

}  // namespace

void run_int_gemm(const KernelTable& kt, const PackedIntImpl& p, const int8_t* x, const float* a,
                  int64_t a_stride, const int32_t* xsum, float* y, int64_t m, ThreadPool& pool,
                  const float* xg, int64_t xg_group) {
  const PackedIntImpl* ps[1] = {&p};
  float* ys[1] = {y};
  run_int_gemm_multi(kt, ps, ys, 1, x, a, a_stride, xsum, m, pool, xg, xg_group);
}

void run_int_gemm_multi(const KernelTable& kt, const PackedIntImpl* const* ps, float* const* ys,
                        int n_jobs, const int8_t* x, const float* a, int64_t a_stride,
                        const int32_t* xsum, int64_t m, ThreadPool& pool, const float* xg,
                        int64_t xg_group) {
  for (int j = 0; j < n_jobs; ++j) check_xg("integer matmul", *ps[j], XGroupScales{xg, xg_group});
  if (m == 0 || n_jobs == 0) return;
  thread_local std::vector<IntTask> tasks;  // the caller's, reused across calls
  tasks.clear();
  for (int j = 0; j < n_jobs; ++j) {
    const PackedIntImpl& p = *ps[j];
    FPTQ_CHECK(p.k == ps[0]->k && p.w4 == ps[0]->w4 && (!p.w4 || p.group == ps[0]->group));
    if (p.n == 0) continue;
    if (p.k == 0) {
      std::fill(ys[j], ys[j] + m * p.n, 0.0f);
      continue;
    }
    plan_tasks(kt, p, j, m, pool.size(), tasks);
  }
  const std::vector<IntTask>& list = tasks;
  pool.parallel_for(int64_t(list.size()), [&](int64_t i, int) {
    const IntTask& tk = list[size_t(i)];
    run_task(kt, *ps[tk.job], tk, x, a, a_stride, xsum, ys[tk.job], xg, xg_group);
  });
}

}  // namespace fptq::kernels
