#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul_f32.h"
#include "kernels/rmsnorm_f32.h"
#include "kernels/silu_mul_f32.h"

namespace fptq::model {
namespace {

// Rows per forward batch: bounds the activation memory of long prompts.
constexpr int64_t kMaxBatchRows = 512;
// Batch rows per attention block: keys are read up to the block's last
// position, so smaller blocks skip more of the causally masked work but
// repack the keys more often.
constexpr int64_t kAttentionRowBlock = 128;

// y[m][n] = x[m][k] · Wᵀ (+ bias).
void linear(const float* x, const Linear& L, float* y, int64_t m, ThreadPool& pool) {
  kernels::matmul_f32(x, L.w, y, m, pool);
  if (L.bias.empty()) return;
  const int64_t n = L.w.n();
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t j = 0; j < n; ++j) y[r * n + j] += L.bias[size_t(j)];
  }
}

// x[r] := RMSNorm(x[r]) ⊙ w for each of `rows` rows of width n (out may alias x).
void rmsnorm_rows(const float* x, const std::vector<float>& w, float* out, int64_t rows, int64_t n,
                  float eps) {
  for (int64_t r = 0; r < rows; ++r) kernels::rmsnorm_f32(x + r * n, w.data(), eps, out + r * n, n);
}

void add_rows(float* x, const float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += d[i];
}

}  // namespace

struct Model::Batch {
  int64_t rows = 0;  // tokens in flight
  int64_t pos0 = 0;  // position of the first
  std::vector<float> x;          // [rows][dim] residual stream
  std::vector<float> xn;         // [rows][dim] RMSNorm(x), the matmul input
  std::vector<float> q;          // [rows][n_head*head_dim]
  std::vector<float> att;        // [rows][n_head*head_dim] attention output
  std::vector<float> proj;       // [rows][dim] W_o / W_down output
  std::vector<float> gate, up;   // [rows][ffn_dim]

  Batch(const LlamaConfig& c, int64_t rows_, int64_t pos0_) : rows(rows_), pos0(pos0_) {
    const size_t r = size_t(rows);
    x.resize(r * size_t(c.dim));
    xn.resize(r * size_t(c.dim));
    q.resize(r * size_t(c.n_head * c.head_dim));
    att.resize(q.size());
    proj.resize(r * size_t(c.dim));
    gate.resize(r * size_t(c.ffn_dim));
    up.resize(gate.size());
  }
};

Model::Model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool)
    : file_(std::move(file)), cfg_(read_config(*file_)), w_(load_weights(*file_, cfg_, pool)) {
  for (int64_t i = 0; i < cfg_.n_rot / 2; ++i) {
    rope_inv_freq_.push_back(std::pow(cfg_.rope_freq_base, -2.0 * double(i) / double(cfg_.n_rot)));
  }
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    for (MatmulInput k : {MatmulInput::attn_qkv_in, MatmulInput::attn_out_in,
                          MatmulInput::ffn_gate_up_in, MatmulInput::ffn_down_in}) {
      point_names_.push_back(observation_point_name(l, k));
    }
  }
  point_names_.push_back(observation_point_name(-1, MatmulInput::output_in));
}

std::unique_ptr<Model> Model::load(const std::string& path, ThreadPool& pool) {
  return std::make_unique<Model>(io::open_model(path), pool);
}

void Model::observe(Observer* obs, int64_t layer, MatmulInput kind, float* x, int64_t rows,
                    int64_t cols) const {
  if (!obs) return;
  const size_t idx = layer < 0 ? point_names_.size() - 1 : size_t(layer * 4 + int64_t(kind));
  obs->on_matmul_input(ObservationPoint{layer, kind, point_names_[idx]}, x, rows, cols);
}

// Rotates the first n_rot dims of each head of `rows` rows (row r at position
// pos0 + r): pairs (2i, 2i+1) for RopeStyle::normal, (i, i + n_rot/2) for neox,
// by the angle pos · base^(-2i/n_rot).
static void apply_rope(float* x, int64_t rows, int64_t n_heads, const LlamaConfig& c,
                       const std::vector<double>& inv_freq, int64_t pos0) {
  const int64_t half = c.n_rot / 2;
  std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
  for (int64_t r = 0; r < rows; ++r) {
    const double pos = double(pos0 + r);
    for (int64_t i = 0; i < half; ++i) {
      cos_t[size_t(i)] = float(std::cos(pos * inv_freq[size_t(i)]));
      sin_t[size_t(i)] = float(std::sin(pos * inv_freq[size_t(i)]));
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (r * n_heads + h) * c.head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = c.rope_style == RopeStyle::normal ? 2 * i : i;
        const int64_t b = c.rope_style == RopeStyle::normal ? 2 * i + 1 : i + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos_t[size_t(i)] - x1 * sin_t[size_t(i)];
        v[b] = x0 * sin_t[size_t(i)] + x1 * cos_t[size_t(i)];
      }
    }
  }
}

void Model::embed(std::span<const int32_t> tokens, Batch& b) const {
  for (int64_t r = 0; r < b.rows; ++r) {
    const int32_t t = tokens[size_t(r)];
    if (t < 0 || t >= cfg_.n_vocab) {
      fail("{}: token id {} out of range [0, {})", file_->path, t, cfg_.n_vocab);
    }
    std::copy_n(w_.token_embd.data() + int64_t(t) * cfg_.dim, cfg_.dim, b.x.data() + r * cfg_.dim);
  }
}

// Causal grouped-query attention of the batch rows over the cache (which
// already holds this batch's keys and values). Per KV head g and block of
// rows, with the G query heads of g stacked as rows of Q_g:
//   P = softmax(Q_g · K_gᵀ / sqrt(head_dim)) over positions <= the row's own,
//   O_g = P · V_g
// as two matmuls over the keys 0 .. pos0+r1-1. Masked probabilities are
// exactly 0 and matmul_f32 sums in a fixed order, so a row's result does not
// depend on the batch or block it is computed in: prefill and decode agree.
void Model::attention(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const {
  const int64_t hd = cfg_.head_dim, G = cfg_.group_size(), q_dim = cfg_.n_head * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const kernels::KernelTable& K = kernels::active_kernels();
  std::vector<float> q, kv, p, o;
  for (int64_t r0 = 0; r0 < b.rows; r0 += kAttentionRowBlock) {
    const int64_t r1 = std::min(b.rows, r0 + kAttentionRowBlock);
    const int64_t n_rows = (r1 - r0) * G;  // row (r, j): query head g·G + j of batch row r
    const int64_t n_keys = b.pos0 + r1;
    for (int64_t g = 0; g < cfg_.n_kv_head; ++g) {
      auto q_row = [&](int64_t i) { return b.q.data() + (r0 + i / G) * q_dim + (g * G + i % G) * hd; };
      auto o_row = [&](int64_t i) { return b.att.data() + (r0 + i / G) * q_dim + (g * G + i % G) * hd; };
      q.resize(size_t(n_rows * hd));
      for (int64_t i = 0; i < n_rows; ++i) std::copy_n(q_row(i), hd, q.data() + i * hd);
      kv.resize(size_t(n_keys * hd));
      for (int64_t t = 0; t < n_keys; ++t) std::copy_n(cache.k(l, t) + g * hd, hd, kv.data() + t * hd);
      const kernels::PackedF32 k_g = kernels::pack_f32(kv.data(), n_keys, hd);  // [n_keys][hd]
      p.resize(size_t(n_rows * n_keys));
      kernels::matmul_f32(q.data(), k_g, p.data(), n_rows, pool);
      pool.parallel_for(n_rows, [&](int64_t i, int) {
        const int64_t len = b.pos0 + r0 + i / G + 1;  // causal: positions 0 .. own
        float* row = p.data() + i * n_keys;
        for (int64_t t = 0; t < len; ++t) row[t] *= scale;
        K.softmax_f32(row, len);
        std::fill(row + len, row + n_keys, 0.0f);
      });
      for (int64_t t = 0; t < n_keys; ++t) {
        const float* v = cache.v(l, t) + g * hd;
        for (int64_t d = 0; d < hd; ++d) kv[size_t(d * n_keys + t)] = v[d];
      }
      const kernels::PackedF32 vt_g = kernels::pack_f32(kv.data(), hd, n_keys);  // V_gᵀ [hd][n_keys]
      o.resize(size_t(n_rows * hd));
      kernels::matmul_f32(p.data(), vt_g, o.data(), n_rows, pool);
      for (int64_t i = 0; i < n_rows; ++i) std::copy_n(o.data() + i * hd, hd, o_row(i));
    }
  }
}

// h = x + W_o · Attention(RoPE(W_q·n), RoPE(W_k·n), W_v·n),  n = RMSNorm(x)
void Model::attention_block(int64_t l, Batch& b, KvCache& cache, ThreadPool& pool,
                            Observer* obs) const {
  const LayerWeights& w = w_.layers[size_t(l)];
  const int64_t m = b.rows;
  rmsnorm_rows(b.x.data(), w.attn_norm, b.xn.data(), m, cfg_.dim, cfg_.rms_eps);
  observe(obs, l, MatmulInput::attn_qkv_in, b.xn.data(), m, cfg_.dim);
  float* k = cache.k(l, b.pos0);  // this batch's rows of the cache, [m][kv_dim]
  float* v = cache.v(l, b.pos0);
  linear(b.xn.data(), w.q, b.q.data(), m, pool);
  linear(b.xn.data(), w.k, k, m, pool);
  linear(b.xn.data(), w.v, v, m, pool);
  apply_rope(b.q.data(), m, cfg_.n_head, cfg_, rope_inv_freq_, b.pos0);
  apply_rope(k, m, cfg_.n_kv_head, cfg_, rope_inv_freq_, b.pos0);
  attention(l, b, cache, pool);
  observe(obs, l, MatmulInput::attn_out_in, b.att.data(), m, cfg_.n_head * cfg_.head_dim);
  linear(b.att.data(), w.o, b.proj.data(), m, pool);
  add_rows(b.x.data(), b.proj.data(), m * cfg_.dim);
}

// x = h + W_down · (SiLU(W_gate·n) ⊙ W_up·n),  n = RMSNorm(h)
void Model::ffn_block(int64_t l, Batch& b, ThreadPool& pool, Observer* obs) const {
  const LayerWeights& w = w_.layers[size_t(l)];
  const int64_t m = b.rows;
  rmsnorm_rows(b.x.data(), w.ffn_norm, b.xn.data(), m, cfg_.dim, cfg_.rms_eps);
  observe(obs, l, MatmulInput::ffn_gate_up_in, b.xn.data(), m, cfg_.dim);
  linear(b.xn.data(), w.gate, b.gate.data(), m, pool);
  linear(b.xn.data(), w.up, b.up.data(), m, pool);
  kernels::silu_mul_f32(b.gate.data(), b.up.data(), b.gate.data(), m * cfg_.ffn_dim);
  observe(obs, l, MatmulInput::ffn_down_in, b.gate.data(), m, cfg_.ffn_dim);
  linear(b.gate.data(), w.down, b.proj.data(), m, pool);
  add_rows(b.x.data(), b.proj.data(), m * cfg_.dim);
}

// logits = W_out · RMSNorm(x) for the requested rows, appended to `logits`.
void Model::output_head(Batch& b, Logits which, std::vector<float>& logits, ThreadPool& pool,
                        Observer* obs) const {
  const int64_t first = which == Logits::all ? 0 : b.rows - 1;
  const int64_t m = b.rows - first;
  rmsnorm_rows(b.x.data() + first * cfg_.dim, w_.output_norm, b.xn.data(), m, cfg_.dim,
               cfg_.rms_eps);
  observe(obs, -1, MatmulInput::output_in, b.xn.data(), m, cfg_.dim);
  const size_t at = logits.size();
  logits.resize(at + size_t(m * cfg_.n_vocab));
  linear(b.xn.data(), w_.output, logits.data() + at, m, pool);
}

void Model::forward(std::span<const int32_t> tokens, KvCache& cache, ThreadPool& pool,
                    Logits which, std::vector<float>& logits, Observer* observer) const {
  const int64_t n = int64_t(tokens.size());
  if (n == 0) fail("{}: forward pass over an empty token sequence", file_->path);
  if (cache.n_past() + n > cache.capacity()) {
    fail("{}: context full: {} cached + {} new tokens > KV cache capacity {}", file_->path,
         cache.n_past(), n, cache.capacity());
  }
  logits.clear();
  for (int64_t done = 0; done < n;) {
    const int64_t rows = std::min(kMaxBatchRows, n - done);
    Batch b(cfg_, rows, cache.n_past());
    embed(tokens.subspan(size_t(done), size_t(rows)), b);
    for (int64_t l = 0; l < cfg_.n_layer; ++l) {
      attention_block(l, b, cache, pool, observer);
      ffn_block(l, b, pool, observer);
    }
    cache.advance(rows);
    done += rows;
    if (which == Logits::all || done == n) output_head(b, which, logits, pool, observer);
  }
}

}  // namespace fptq::model
