// The weights of a LLaMA-family model: one visitor that enumerates them
// (name, shape, role), and the FP32 weights the engine computes with.
//
// The loader, the quantizer, the writer and the tests all iterate
// for_each_weight(), so the list of tensors lives in exactly one place.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "io/model_file.h"
#include "model/config.h"
#include "model/linear.h"

namespace fptq::model {

enum class WeightRole {
  token_embd,   // [n_vocab][dim] embedding table
  attn_norm,    // [dim] RMSNorm gain before attention
  attn_q,       // [n_head*head_dim][dim]
  attn_k,       // [kv_dim][dim]
  attn_v,       // [kv_dim][dim]
  attn_q_bias,  // [n_head*head_dim] (Qwen2)
  attn_k_bias,  // [kv_dim] (Qwen2)
  attn_v_bias,  // [kv_dim] (Qwen2)
  attn_output,  // [dim][n_head*head_dim]
  ffn_norm,     // [dim] RMSNorm gain before the FFN
  ffn_gate,     // [ffn_dim][dim]
  ffn_up,       // [ffn_dim][dim]
  ffn_down,     // [dim][ffn_dim]
  output_norm,  // [dim] final RMSNorm gain
  output,       // [n_vocab][dim] classifier (absent when tied to token_embd)
};
std::string_view role_name(WeightRole role);

struct WeightSpec {
  std::string name;        // GGUF tensor name, e.g. "blk.3.attn_q.weight"
  WeightRole role;
  int64_t layer = -1;      // block index, -1 for model-level tensors
  std::vector<int64_t> ne; // expected GGUF dims, innermost first ({k, n} for a matrix)
  bool is_linear() const;  // a matrix consumed by a matmul (not norms, biases, embedding)
};

// Calls fn for every tensor the model reads, in a fixed order: token_embd,
// then per block attn_norm, attn_q, attn_k, attn_v, [q/k/v biases],
// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down, then output_norm and
// output (unless tied).
void for_each_weight(const LlamaConfig& cfg, const std::function<void(const WeightSpec&)>& fn);

// Tensors of `file` that for_each_weight(cfg) does not read (in file order):
// the model computes without them, so a user is told (e.g. rope_freqs.weight
// of a file whose RoPE scaling fptq does not apply).
std::vector<std::string> unused_tensors(const LlamaConfig& cfg, const io::ModelFile& file);

// GGUF name of a block tensor: block_tensor_name(3, "attn_q", "weight").
std::string block_tensor_name(int64_t layer, std::string_view base, std::string_view suffix);

struct LayerWeights {
  std::vector<float> attn_norm;  // [dim]
  Linear q, k, v;                // [n_head*head_dim][dim], [kv_dim][dim], [kv_dim][dim]
  Linear o;                      // [dim][n_head*head_dim]
  std::vector<float> ffn_norm;   // [dim]
  Linear gate, up;               // [ffn_dim][dim]
  Linear down;                   // [dim][ffn_dim]
};

struct Weights {
  std::vector<float> token_embd;  // [n_vocab][dim]
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // [dim]
  Linear output;                   // [n_vocab][dim] (token_embd repacked when tied)
};

struct EnginePlan;  // model/engine_plan.h

// Loads every tensor of for_each_weight(cfg): each linear layer in the kernel
// plan.kinds names (F32: dequantized and packed; W4A8: the Q4_0 blocks
// repacked with the group of its input point; W8A8: the Q8_0 blocks
// repacked), norms, biases and the embedding as F32. Tensors are converted in
// parallel on `pool`. Throws fptq::Error when a tensor has a type fptq cannot
// dequantize.
Weights load_weights(const io::ModelFile& file, const LlamaConfig& cfg, const EnginePlan& plan,
                     ThreadPool& pool);

}  // namespace fptq::model
