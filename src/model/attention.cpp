// Causal grouped-query attention of the batch rows over the KV cache (which
// already holds this batch's keys and values):
//   P = softmax(Q_h · K_gᵀ / sqrt(head_dim)) over positions first_key(p) .. p
//       (p the row's own position; first_key is 0 without a sliding window),
//   O_h = P · V_g,   g = the KV head of query head h.
// Prompts run it as two matmuls per KV head and row block over packed K and
// Vᵀ; decode steps (few rows) read the cache in place with dot/axpy kernels,
// which avoids repacking the whole prefix every step. The two paths sum in
// different orders; each is within head_dim·eps·Σ|q·k| (scores) and
// n_keys·eps·Σ|p·v| (outputs) of the exact value, and a row's result does
// not depend on the batch it is computed in, only on the path.
#include <algorithm>
#include <cmath>
#include <memory>

#include "kernels/axpy_f32.h"
#include "kernels/dot_f32.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul_f32.h"
#include "model/batch.h"

namespace fptq::model {
namespace {

// Batch rows up to which attention reads the cache in place (decode).
constexpr int64_t kDirectAttentionMaxRows = 4;
// Cached positions per tile of the decode path (64 keys of a 128-wide head:
// 32 KiB of K or V, shared by the G query heads of a KV head in L1/L2).
constexpr int64_t kDirectKeyTile = 64;
// Batch rows per packed attention block: keys are read up to the block's
// last position, so smaller blocks skip more of the causally masked work but
// repack the keys more often.
constexpr int64_t kAttentionRowBlock = 128;

}  // namespace

void Model::attention(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const {
  if (b.rows <= kDirectAttentionMaxRows) {
    attention_direct(l, b, cache, pool);
  } else {
    attention_packed(l, b, cache, pool);
  }
}

// One task per (row, KV head g) computing the G query heads of g together
// (split into `parts` runs of heads when there are fewer (row, KV head)
// pairs than threads): scores by dot products against the cached keys,
// softmax, then O_h = Σ_t p_t · V_t by axpy in position order. The keys and
// values are walked in tiles, each tile used by all heads of the task before
// the next, so a long cache is read from memory once per KV head instead of
// once per query head. Each score is one dot_f32 call and each O_h
// accumulates its terms in position order, so neither the tiling nor the
// split changes a bit.
void Model::attention_direct(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const {
  const int64_t hd = cfg_.head_dim, G = cfg_.group_size(), q_dim = cfg_.n_head * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const kernels::KernelTable& K = kernels::active_kernels();
  const int64_t pairs = b.rows * cfg_.n_kv_head;
  const int64_t parts = std::clamp<int64_t>((pool.size() + pairs - 1) / pairs, 1, G);
  std::vector<std::vector<float>> scores(size_t(pool.size()));
  pool.parallel_for(pairs * parts, [&](int64_t task, int thread) {
    const int64_t pair = task / parts, part = task % parts;
    const int64_t r = pair / cfg_.n_kv_head, g = pair % cfg_.n_kv_head;
    const int64_t j0 = G * part / parts, nj = G * (part + 1) / parts - j0;  // heads g·G + j0 ..
    const int64_t pos = b.pos0 + r;
    const int64_t lo = cfg_.first_key(pos), len = pos + 1 - lo;  // keys lo .. pos
    const float* q = b.q.data() + r * q_dim + (g * G + j0) * hd;  // head j of the task at q + j·hd
    float* o = b.att.data() + r * q_dim + (g * G + j0) * hd;
    std::vector<float>& p = scores[size_t(thread)];
    p.resize(size_t(nj * len));  // [nj][len]
    for (int64_t t0 = 0; t0 < len; t0 += kDirectKeyTile) {
      const int64_t t1 = std::min(len, t0 + kDirectKeyTile);
      for (int64_t j = 0; j < nj; ++j)
        for (int64_t t = t0; t < t1; ++t)
          p[size_t(j * len + t)] = K.dot_f32(q + j * hd, cache.k(l, lo + t) + g * hd, hd) * scale;
    }
    for (int64_t j = 0; j < nj; ++j) K.softmax_f32(p.data() + j * len, len);
    std::fill(o, o + nj * hd, 0.0f);
    for (int64_t t0 = 0; t0 < len; t0 += kDirectKeyTile) {
      const int64_t t1 = std::min(len, t0 + kDirectKeyTile);
      for (int64_t j = 0; j < nj; ++j)
        for (int64_t t = t0; t < t1; ++t)
          K.axpy_f32(p[size_t(j * len + t)], cache.v(l, lo + t) + g * hd, o + j * hd, hd);
    }
  });
}

// Per KV head g and block of rows, with the G query heads of g stacked as
// rows of Q_g: two matmuls over the keys 0 .. pos0+r1-1. Masked
// probabilities (after the row's position, and before its window) are
// exactly 0 and matmul_f32 sums in a fixed order from key 0, so a row's
// result does not depend on the block it is computed in. Each (block, KV
// head) pair is one task, run start to end by one thread (its packing, its
// matmuls, its softmax), the blocks with the most keys first; matmul_f32 does
// not depend on the thread count, so the result is the same on any pool.
void Model::attention_packed(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const {
  const int64_t hd = cfg_.head_dim, G = cfg_.group_size(), q_dim = cfg_.n_head * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const kernels::KernelTable& K = kernels::active_kernels();
  const int64_t n_blocks = (b.rows + kAttentionRowBlock - 1) / kAttentionRowBlock;
  struct Scratch {
    std::vector<float> q, kv, p, o;
    std::unique_ptr<ThreadPool> one;  // a task runs its matmuls on its own thread
  };
  std::vector<Scratch> scratch(size_t(pool.size()));
  pool.parallel_for(n_blocks * cfg_.n_kv_head, [&](int64_t task, int thread) {
    const int64_t blk = n_blocks - 1 - task / cfg_.n_kv_head, g = task % cfg_.n_kv_head;
    Scratch& s = scratch[size_t(thread)];
    if (!s.one) s.one = std::make_unique<ThreadPool>(1);
    std::vector<float>&q = s.q, &kv = s.kv, &p = s.p, &o = s.o;
    const int64_t r0 = blk * kAttentionRowBlock;
    const int64_t r1 = std::min(b.rows, r0 + kAttentionRowBlock);
    const int64_t n_rows = (r1 - r0) * G;  // row (r, j): query head g·G + j of batch row r
    const int64_t n_keys = b.pos0 + r1;
    auto q_row = [&](int64_t i) { return b.q.data() + (r0 + i / G) * q_dim + (g * G + i % G) * hd; };
    auto o_row = [&](int64_t i) { return b.att.data() + (r0 + i / G) * q_dim + (g * G + i % G) * hd; };
    q.resize(size_t(n_rows * hd));
    for (int64_t i = 0; i < n_rows; ++i) std::copy_n(q_row(i), hd, q.data() + i * hd);
    kv.resize(size_t(n_keys * hd));
    for (int64_t t = 0; t < n_keys; ++t) std::copy_n(cache.k(l, t) + g * hd, hd, kv.data() + t * hd);
    const kernels::PackedF32 k_g = kernels::pack_f32(kv.data(), n_keys, hd);  // [n_keys][hd]
    p.resize(size_t(n_rows * n_keys));
    kernels::matmul_f32(q.data(), k_g, p.data(), n_rows, *s.one);
    for (int64_t i = 0; i < n_rows; ++i) {
      const int64_t pos = b.pos0 + r0 + i / G;
      const int64_t lo = cfg_.first_key(pos), len = pos + 1;  // keys lo .. pos
      float* row = p.data() + i * n_keys;
      for (int64_t t = lo; t < len; ++t) row[t] *= scale;
      K.softmax_f32(row + lo, len - lo);
      std::fill(row, row + lo, 0.0f);
      std::fill(row + len, row + n_keys, 0.0f);
    }
    for (int64_t t = 0; t < n_keys; ++t) {
      const float* v = cache.v(l, t) + g * hd;
      for (int64_t d = 0; d < hd; ++d) kv[size_t(d * n_keys + t)] = v[d];
    }
    const kernels::PackedF32 vt_g = kernels::pack_f32(kv.data(), hd, n_keys);  // V_gᵀ [hd][n_keys]
    o.resize(size_t(n_rows * hd));
    kernels::matmul_f32(p.data(), vt_g, o.data(), n_rows, *s.one);
    for (int64_t i = 0; i < n_rows; ++i) std::copy_n(o.data() + i * hd, hd, o_row(i));
  });
}

}  // namespace fptq::model
