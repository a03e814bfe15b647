// Hyperparameters of a LLaMA-family decoder (llama, mistral, qwen2), read
// from the GGUF-style metadata (`<arch>.*` keys) and checked against the
// tensor shapes of the file.
#pragma once

#include <cstdint>
#include <string>

#include "io/model_file.h"

namespace fptq::model {

// How RoPE pairs the dimensions of a head: `normal` rotates adjacent pairs
// (2i, 2i+1), the layout GGUF llama files (and fptq's HF loader) store q/k
// in; `neox` rotates (i, i + n_rot/2), as llama.cpp does for qwen2 GGUFs.
enum class RopeStyle { normal, neox };

struct LlamaConfig {
  std::string architecture;         // general.architecture: "llama", "mistral" or "qwen2"
  int64_t n_layer = 0;              // <arch>.block_count
  int64_t dim = 0;                  // <arch>.embedding_length
  int64_t ffn_dim = 0;              // <arch>.feed_forward_length
  int64_t n_head = 0;               // <arch>.attention.head_count
  int64_t n_kv_head = 0;            // <arch>.attention.head_count_kv (default: n_head)
  int64_t head_dim = 0;             // dim / n_head
  int64_t n_vocab = 0;              // rows of token_embd.weight (<arch>.vocab_size must agree)
  int64_t n_rot = 0;                // <arch>.rope.dimension_count (default: head_dim)
  int64_t context_length = 0;       // <arch>.context_length (trained length; 0 if absent)
  double rope_freq_base = 10000.0;  // <arch>.rope.freq_base
  float rms_eps = 1e-5f;            // <arch>.attention.layer_norm_rms_epsilon
  RopeStyle rope_style = RopeStyle::normal;
  // Sliding-window attention (Mistral v0.1's `sliding_window`, recorded by
  // the HF loader as fptq.attention.sliding_window): a query at position p
  // attends the keys at positions p - W + 1 .. p, the window HF transformers'
  // Mistral and llama.cpp's standard SWA mask use. 0: full causal attention.
  int64_t sliding_window = 0;

  bool tied_output = false;   // no output.weight: the head reuses token_embd.weight
  bool has_qkv_bias = false;  // blk.N.attn_{q,k,v}.bias present (Qwen2)

  int64_t kv_dim() const { return n_kv_head * head_dim; }
  int64_t group_size() const { return n_head / n_kv_head; }  // query heads per KV head
  // First key position a query at position `pos` attends.
  int64_t first_key(int64_t pos) const {
    return sliding_window > 0 && pos >= sliding_window ? pos - sliding_window + 1 : 0;
  }
};

// Reads and validates the configuration of `file`. Throws fptq::Error naming
// the file when a key is missing or has a bad value, when the sizes are
// inconsistent (head_dim * n_head != dim, n_head % n_kv_head != 0, odd or
// too large rope dimension) or when a tensor's shape disagrees with them.
LlamaConfig read_config(const io::ModelFile& file);

}  // namespace fptq::model
