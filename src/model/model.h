// A LLaMA-family decoder evaluated in FP32: config, weights, forward pass.
//
// The forward pass follows the paper's notation, per block:
//   h = x + W_o · Attention(RoPE(W_q·n), RoPE(W_k·n), W_v·n),   n = RMSNorm(x)
//   x = h + W_down · (SiLU(W_gate·m) ⊙ W_up·m),                 m = RMSNorm(h)
// then logits = W_out · RMSNorm(x). Prompts run as one batch per call (the
// matmuls see m = batch rows), decode steps as m = 1 (the GEMV path). An
// Observer, when given, sees (and may rewrite) the float input of every
// matmul, before the engine quantizes it.
//
// Engines (model/engine_plan.h): by default a quantized file runs on the
// integer kernels (W4A8 for Q4_0, W8A8 for Q8_0, int8 activations per the
// fptq.* keys, or dynamic per token for plain llama.cpp files); with
// LoadOptions{RunMode::emulate} every layer runs in F32 on the dequantized
// weights, for an emulating observer (quant::EmulationObserver(act_spec())).
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
#include "model/engine_plan.h"
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
  // Reads the config of `file`, plans the engine for `opt.mode` and loads
  // the weights (packing on `pool`). Throws fptq::Error on a bad or
  // unsupported model.
  Model(std::shared_ptr<const io::ModelFile> file, ThreadPool& pool, LoadOptions opt = {});
  // Opens `path` (GGUF file or Hugging Face directory) and loads it.
  static std::unique_ptr<Model> load(const std::string& path, ThreadPool& pool,
                                     LoadOptions opt = {});

  const LlamaConfig& config() const { return cfg_; }
  const io::ModelFile& file() const { return *file_; }
  std::shared_ptr<const io::ModelFile> file_ptr() const { return file_; }
  const Weights& weights() const { return w_; }
  const EnginePlan& plan() const { return plan_; }
  RunMode mode() const { return plan_.mode; }
  // The activation quantizer of every matmul input, as the integer engine
  // runs it (what an emulating observer must apply in emulate mode).
  const QuantSpec& act_spec() const { return plan_.act; }
  // One line for reports: engine, ISA, layers per kernel, points per quantizer.
  std::string describe() const { return plan_.describe(); }

  // Runs `tokens` at positions cache.n_past() .. cache.n_past()+n-1 and
  // appends their keys/values to `cache`. Writes the requested logits into
  // `logits` (resized to n_vocab or n·n_vocab). Throws fptq::Error when a
  // token id is out of range or the cache has no room; `tokens` must not be
  // empty. Results do not depend on pool.size().
  void forward(std::span<const int32_t> tokens, KvCache& cache, ThreadPool& pool, Logits which,
               std::vector<float>& logits, Observer* observer = nullptr) const;

  // Block-by-block evaluation (model/block_forward.h): runs every block of
  // this model over the hidden states x ([n][dim], the residual stream of n
  // tokens at positions cache.n_past() ..) in the same batches and with the
  // same arithmetic as forward(), updating x in place and appending to
  // `cache`. No embedding, no output head. Defined in block_forward.cpp.
  void forward_hidden(std::span<float> x, KvCache& cache, ThreadPool& pool,
                      Observer* observer = nullptr) const;

 private:
  struct Batch;  // activations of the tokens in flight
  void embed(std::span<const int32_t> tokens, Batch& b) const;
  void attention_block(int64_t l, Batch& b, KvCache& cache, ThreadPool& pool, Observer* obs) const;
  void ffn_block(int64_t l, Batch& b, ThreadPool& pool, Observer* obs) const;
  void attention(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const;
  void apply_rope(float* x, int64_t n_heads, Batch& b) const;
  void attention_packed(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const;
  void attention_direct(int64_t l, Batch& b, const KvCache& cache, ThreadPool& pool) const;
  MatmulIn norm_input(int64_t layer, MatmulInput kind, const float* x,
                      const std::vector<float>& gain, int64_t rows, Batch& b, Observer* obs) const;
  MatmulIn silu_mul_input(int64_t layer, Batch& b, Observer* obs) const;
  MatmulIn matmul_input(int64_t layer, MatmulInput kind, float* x, int64_t rows, int64_t cols,
                        Batch& b, Observer* obs) const;
  MatmulIn quantize_input(const PointEngine& p, float* x, int64_t rows, int64_t cols,
                          Batch& b) const;
  void output_head(Batch& b, Logits which, std::vector<float>& logits, ThreadPool& pool,
                   Observer* obs) const;
  void observe(Observer* obs, int64_t layer, MatmulInput kind, float* x, int64_t rows,
               int64_t cols) const;

  std::shared_ptr<const io::ModelFile> file_;
  LlamaConfig cfg_;
  EnginePlan plan_;
  Weights w_;
  std::vector<double> rope_inv_freq_;           // [n_rot/2]: base^(-2i/n_rot)
  std::vector<std::string> point_names_;        // [n_layer*4 + 1], see observe()
};

}  // namespace fptq::model
