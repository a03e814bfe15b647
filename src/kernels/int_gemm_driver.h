// Shared by matmul_w4a8 and matmul_w8a8: the packed integer weights and the
// cache-blocked, multi-threaded driver over the per-ISA register tiles.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/int8_layout.h"
#include "kernels/kernel_table.h"
#include "kernels/panel_memory.h"

namespace fptq::kernels {

// Packed weights (layout: kernels/int8_layout.h). n_panels is a multiple of
// kIntTilePanels (padded with zero-code, zero-scale panels), so a tile always
// has kIntTilePanels.
struct PackedIntImpl {
  bool w4 = true;  // W4Octet steps (else W8Quad)
  bool nl = false; // W4 only: nibbles index io::kIq4NlValues (IQ4_NL levels)
  bool integer_scale = false;
  int64_t n = 0, k = 0, group = 0;
  int64_t n_panels = 0;
  int64_t panel_bytes = 0;  // bytes of one panel's codes
  PanelBuffer w;  // [n_panels][panel_bytes], 64-byte aligned, huge pages where available
  std::vector<float> s;          // [n_panels][k/group][16] (float mode)
  std::vector<int32_t> s_int;    // [n_panels][k/group][16] (integer-scale mode)
  std::vector<float> c;          // [n_panels][16] (integer-scale mode)
  std::vector<int32_t> wsum;     // W8: [n_panels][k/group][16]
  // Compact packing (float mode, every scale fp16-exact; W8 also group <= 256
  // so |wsum| <= 127·256 fits int16): s16 / wsum16 replace s / wsum.
  PanelArray<uint16_t> s16;      // [n_panels][k/group][16]
  PanelArray<int16_t> wsum16;    // W8: [n_panels][k/group][16]
  int64_t bytes() const;
};

// Allocates p.w for p.n_panels panels of p.panel_bytes (zeroed).
void alloc_panels(PackedIntImpl& p);

// Float mode: moves p.s to p.s16 (and p.wsum to p.wsum16 for W8) when every
// scale converts to fp16 and back unchanged (and every |wsum| fits int16).
void compact_scales(PackedIntImpl& p);

// y[i][j] for i < m, j < p.n via kt's w4a8_tile / w8a8_tile. x: [m][k] int8,
// a_i = a[i · a_stride], xsum: [m][k/group] (W4) or nullptr (W8).
// xg: optional per-group activation scales [m][k/xg_group] (IntTileArgs::xg);
// xg_group must be a multiple of the weights' group dividing k, float mode
// only (fptq::Error otherwise).
void run_int_gemm(const KernelTable& kt, const PackedIntImpl& p, const int8_t* x, const float* a,
                  int64_t a_stride, const int32_t* xsum, float* y, int64_t m, ThreadPool& pool,
                  const float* xg = nullptr, int64_t xg_group = 0);

// Several weights of the same k (and, W4, group) against the same x in one
// parallel loop: ys[i] = x · ps[i]ᵀ, each exactly as run_int_gemm computes
// it (same tiles, same order per output). One synchronisation instead of
// n_jobs, which is what a decode step with q/k/v or gate/up pays for.
void run_int_gemm_multi(const KernelTable& kt, const PackedIntImpl* const* ps, float* const* ys,
                        int n_jobs, const int8_t* x, const float* a, int64_t a_stride,
                        const int32_t* xsum, int64_t m, ThreadPool& pool,
                        const float* xg = nullptr, int64_t xg_group = 0);

}  // namespace fptq::kernels
