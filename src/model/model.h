// A LLaMA-family decoder evaluated in FP32: config, weights, forward pass.
//
// The forward pass follows the paper's notation, per block:
//   h = x + W_o · Attention(RoPE(W_q·n), RoPE(W_k·n), W_v·n),   n = RMSNorm(x)
//   x = h + W_down · (SiLU(W_gate·m) ⊙ W_up·m),                 m = RMSNorm(h)
// then logits = W_out · RMSNorm(x). Prompts run as one batch per call (the
// matmuls see m = batch rows), decode steps as m = 1 (the GEMV path). An
// Observer, when given, sees (and may rewrite) the input of every matmul.
//
// A Model is immutable after loading; forward() may run concurrently on
// different KvCaches and thread pools.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/observer.h"
#include "model/weights.h"

namespace fptq::model {

// Which rows of a batch get logits.
enum class Logits {
  last,  // only the last token's: [n_vocab]
  all,   // every token's: [n_tokens][n_vocab]
};

class Model {
 public:
  // Reads the config of `file` and loads its weights (packing on `pool`).
  // Throws fptq::Error on a bad or unsupported model.
  Model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool);
  // Opens `path` (GGUF file or Hugging Face directory) and loads it.
  static std::unique_ptr<Model> load(const std::string& path, ThreadPool& pool);

  const LlamaConfig& config() const { return cfg_; }
  const io::ModelFile& file() const { return *file_; }
  std::shared_ptr<const io::ModelFile> file_ptr() const { return file_; }
  const Weights& weights() const { return w_; }

  // Runs `tokens` at positions cache.n_past() .. cache.n_past()+n-1 and
  // appends their keys/values to `cache`. Writes the requested logits into
  // `logits` (resized to n_vocab or n·n_vocab). Throws fptq::Error when a
  // token id is out of range or the cache has no room; `tokens` must not be
  // empty. Results do not depend on pool.size().
  void forward(std::span<const int32_t> tokens, KvCache& cache, ThreadPool& pool, Logits which,
               std::vector<float>& logits, Observer* observer = nullptr) const;

 private:
  struct Batch;  // activations of the tokens in flight
  void embed(std::span<const int32_t> tokens, Batch& b) const;
  void attention_block(int64_t l, Batch& b, KvCache& cache, ThreadPool& pool, Observer* obs) const;
  void ffn_block(int64_t l, Batch& b, ThreadPool& pool, Observer* obs) const;
  void attention(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const;
  void output_head(Batch& b, Logits which, std::vector<float>& logits, ThreadPool& pool,
                   Observer* obs) const;
  void observe(Observer* obs, int64_t layer, MatmulInput kind, float* x, int64_t rows,
               int64_t cols) const;

  std::shared_ptr<const io::ModelFile> file_;
  LlamaConfig cfg_;
  Weights w_;
  std::vector<double> rope_inv_freq_;           // [n_rot/2]: base^(-2i/n_rot)
  std::vector<std::string> point_names_;        // [n_layer*4 + 1], see observe()
};

}  // namespace fptq::model
