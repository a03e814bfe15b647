// The activations of the tokens in flight through one forward pass (private
// to the model's .cpp files).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace fptq::model {

// Rows per forward batch: bounds the activation memory of long prompts. The
// whole-model forward and the streaming block view both cut at it, so every
// matmul sees the same shapes and their hidden states match bit for bit.
inline constexpr int64_t kMaxBatchRows = 512;

struct Model::Batch {
  int64_t rows = 0;  // tokens in flight
  int64_t pos0 = 0;  // position of the first
  std::vector<float> x;          // [rows][dim] residual stream
  std::vector<float> xn;         // [rows][dim] RMSNorm(x), the matmul input
  std::vector<float> q;          // [rows][n_head*head_dim]
  std::vector<float> att;        // [rows][n_head*head_dim] attention output
  std::vector<float> proj;       // [rows][dim] W_o / W_down output
  std::vector<float> gate, up;   // [rows][ffn_dim]
  // The int8 form of the current matmul input (integer engine):
  std::vector<int8_t> xq;          // [rows][k] codes, k <= max_in
  std::vector<float> xs;           // [rows] Δ per row
  std::vector<float> xg;           // [rows][k/group] Δ per activation group (grouped points)
  std::vector<int32_t> group_sums; // [rows][k/32] at most
  // Emulate mode: the codes of a fake-quantized matmul input, as f32
  // ([rows][k], allocated on first use).
  std::vector<float> xc;
  // RoPE's cos/sin of each row's position, [rows][n_rot/2], computed once per
  // batch (every layer's q and k rotate by the same angles).
  std::vector<float> rope_cos, rope_sin;
  ThreadPool* pool;  // the forward pass's pool: row-parallel work outside the matmuls

  Batch(const LlamaConfig& c, int64_t rows_, int64_t pos0_, ThreadPool& pool_)
      : rows(rows_), pos0(pos0_), pool(&pool_) {
    const size_t r = size_t(rows);
    const size_t max_in = size_t(std::max({c.dim, c.n_head * c.head_dim, c.ffn_dim}));
    x.resize(r * size_t(c.dim));
    xn.resize(r * size_t(c.dim));
    q.resize(r * size_t(c.n_head * c.head_dim));
    att.resize(q.size());
    proj.resize(r * size_t(c.dim));
    gate.resize(r * size_t(c.ffn_dim));
    up.resize(gate.size());
    xq.resize(r * max_in);
    xs.resize(r);
    xg.resize(r * (max_in / 32 + 1));
    group_sums.resize(r * (max_in / 32 + 1));
  }
};

// Runs fn(r0, r1) over [0, rows) cut into one contiguous chunk per thread of
// `pool`, each at least `min_rows` long (a decode step's few rows stay on the
// calling thread). For row-independent work: the result does not depend on
// the chunks.
template <class F>
void for_row_chunks(ThreadPool& pool, int64_t rows, int64_t min_rows, F&& fn) {
  const int64_t chunks = std::clamp<int64_t>(rows / std::max<int64_t>(min_rows, 1), 1,
                                             int64_t(pool.size()));
  if (chunks == 1) {
    fn(int64_t(0), rows);
    return;
  }
  pool.parallel_for(chunks, [&](int64_t c, int) {
    fn(rows * c / chunks, rows * (c + 1) / chunks);
  });
}

}  // namespace fptq::model
