#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/batch.h"
#include "model/profile.h"

namespace fptq::model {
namespace {

// x += d over rows of width `dim`, row-parallel.
void add_rows(float* x, const float* d, int64_t rows, int64_t dim, ThreadPool& pool) {
  const OpTimer timer(OpClass::norm_elementwise);
  for_row_chunks(pool, rows, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * dim; i < r1 * dim; ++i) x[i] += d[i];
  });
}

}  // namespace

Model::Model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool, LoadOptions opt)
    : file_(std::move(file)),
      cfg_(read_config(*file_)),
      plan_(plan_engine(*file_, cfg_, opt.mode)),
      w_(load_weights(*file_, cfg_, plan_, pool)) {
  for (int64_t i = 0; i < cfg_.n_rot / 2; ++i) {
    rope_inv_freq_.push_back(std::pow(cfg_.rope_freq_base, -2.0 * double(i) / double(cfg_.n_rot)));
  }
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    for (MatmulInput k : kBlockInputs) {
      point_names_.push_back(observation_point_name(l, k));
    }
  }
  point_names_.push_back(observation_point_name(-1, MatmulInput::output_in));
}

std::unique_ptr<Model> Model::load(const std::string& path, ThreadPool& pool, LoadOptions opt) {
  return std::make_unique<Model>(io::open_model(path), pool, opt);
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
// Rotates each head of x ([rows][n_heads·head_dim], rows at positions
// pos0 ..) by its position's angles: pairs (2i, 2i+1) (normal) or
// (i, i + n_rot/2) (neox), angle pos·base^(-2i/n_rot).
void Model::apply_rope(float* x, int64_t n_heads, Batch& b) const {
  const int64_t half = cfg_.n_rot / 2, rows = b.rows;
  if (b.rope_cos.empty()) {
    b.rope_cos.resize(size_t(rows * half));
    b.rope_sin.resize(size_t(rows * half));
    for (int64_t r = 0; r < rows; ++r) {
      const double pos = double(b.pos0 + r);
      for (int64_t i = 0; i < half; ++i) {
        b.rope_cos[size_t(r * half + i)] = float(std::cos(pos * rope_inv_freq_[size_t(i)]));
        b.rope_sin[size_t(r * half + i)] = float(std::sin(pos * rope_inv_freq_[size_t(i)]));
      }
    }
  }
  const bool normal = cfg_.rope_style == RopeStyle::normal;
  for_row_chunks(*b.pool, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* cos_t = b.rope_cos.data() + r * half;
      const float* sin_t = b.rope_sin.data() + r * half;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + (r * n_heads + h) * cfg_.head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t a = normal ? 2 * i : i;
          const int64_t c = normal ? 2 * i + 1 : i + half;
          const float x0 = v[a], x1 = v[c];
          v[a] = x0 * cos_t[i] - x1 * sin_t[i];
          v[c] = x0 * sin_t[i] + x1 * cos_t[i];
        }
      }
    }
  });
}

void Model::embed(std::span<const int32_t> tokens, Batch& b) const {
  const OpTimer timer(OpClass::norm_elementwise);
  for (int64_t r = 0; r < b.rows; ++r) {
    const int32_t t = tokens[size_t(r)];
    if (t < 0 || t >= cfg_.n_vocab) {
      fail("{}: token id {} out of range [0, {})", file_->path, t, cfg_.n_vocab);
    }
    std::copy_n(w_.token_embd.data() + int64_t(t) * cfg_.dim, cfg_.dim, b.x.data() + r * cfg_.dim);
  }
}

// h = x + W_o · Attention(RoPE(W_q·n), RoPE(W_k·n), W_v·n),  n = RMSNorm(x)
void Model::attention_block(int64_t l, Batch& b, KvCache& cache, ThreadPool& pool,
                            Observer* obs) const {
  const LayerWeights& w = w_.layers[size_t(l)];
  const int64_t m = b.rows;
  const MatmulIn n = norm_input(l, MatmulInput::attn_qkv_in, b.x.data(), w.attn_norm, m, b, obs);
  float* k = cache.k(l, b.pos0);  // this batch's rows of the cache, [m][kv_dim]
  float* v = cache.v(l, b.pos0);
  {
    const Linear* Ls[3] = {&w.q, &w.k, &w.v};
    float* ys[3] = {b.q.data(), k, v};
    linear_multi(n, Ls, ys, 3, m, pool);
  }
  {
    const OpTimer timer(OpClass::attention);
    apply_rope(b.q.data(), cfg_.n_head, b);
    apply_rope(k, cfg_.n_kv_head, b);
    attention(l, b, cache, pool);
  }
  const MatmulIn a =
      matmul_input(l, MatmulInput::attn_out_in, b.att.data(), m, cfg_.n_head * cfg_.head_dim, b, obs);
  linear(a, w.o, b.proj.data(), m, pool);
  add_rows(b.x.data(), b.proj.data(), m, cfg_.dim, pool);
}

// x = h + W_down · (SiLU(W_gate·n) ⊙ W_up·n),  n = RMSNorm(h)
void Model::ffn_block(int64_t l, Batch& b, ThreadPool& pool, Observer* obs) const {
  const LayerWeights& w = w_.layers[size_t(l)];
  const int64_t m = b.rows;
  const MatmulIn n = norm_input(l, MatmulInput::ffn_gate_up_in, b.x.data(), w.ffn_norm, m, b, obs);
  {
    const Linear* Ls[2] = {&w.gate, &w.up};
    float* ys[2] = {b.gate.data(), b.up.data()};
    linear_multi(n, Ls, ys, 2, m, pool);
  }
  const MatmulIn s = silu_mul_input(l, b, obs);
  linear(s, w.down, b.proj.data(), m, pool);
  add_rows(b.x.data(), b.proj.data(), m, cfg_.dim, pool);
}

// logits = W_out · RMSNorm(x) for the requested rows, appended to `logits`.
void Model::output_head(Batch& b, Logits which, std::vector<float>& logits, ThreadPool& pool,
                        Observer* obs) const {
  const int64_t first = which == Logits::all ? 0 : b.rows - 1;
  const int64_t m = b.rows - first;
  const MatmulIn n = norm_input(-1, MatmulInput::output_in, b.x.data() + first * cfg_.dim,
                                w_.output_norm, m, b, obs);
  const size_t at = logits.size();
  logits.resize(at + size_t(m * cfg_.n_vocab));
  linear(n, w_.output, logits.data() + at, m, pool, /*head=*/true);
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
    Batch b(cfg_, rows, cache.n_past(), pool);
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
