// Hugging Face config.json -> the GGUF llama.* metadata keys.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "io/metadata.h"

namespace fptq::io {

// The model hyper-parameters fptq reads from config.json. Every supported
// architecture (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) is a
// LLaMA-family decoder; `family` tells them apart ("llama", "mistral", "qwen2").
struct HfConfig {
  std::string architecture;   // e.g. "Qwen2ForCausalLM"
  std::string family;         // "llama", "mistral" or "qwen2"
  int64_t n_layer = 0;        // num_hidden_layers
  int64_t n_embd = 0;         // hidden_size
  int64_t n_ff = 0;           // intermediate_size
  int64_t n_head = 0;         // num_attention_heads
  int64_t n_head_kv = 0;      // num_key_value_heads (default: n_head)
  int64_t head_dim = 0;       // head_dim (default: n_embd / n_head), even
  int64_t n_ctx = 0;          // max_position_embeddings
  int64_t n_vocab = 0;        // vocab_size
  double rms_eps = 0;         // rms_norm_eps
  double rope_theta = 10000;  // rope_theta
  bool tie_word_embeddings = false;
  bool attn_qkv_bias = false;             // q/k/v projections have biases (Qwen2)
  std::optional<int64_t> sliding_window;  // Mistral v0.1 style windowed attention
  std::optional<int64_t> bos_token_id, eos_token_id;
};

// Parses a config.json object read from `where` (a path, for messages).
// Throws fptq::Error for unsupported architectures, rope_scaling other than
// null, missing or invalid keys, and inconsistent head geometry.
HfConfig parse_hf_config(const nlohmann::json& config, std::string_view where);

// Adds general.architecture = "llama" and the llama.* hyper-parameter keys,
// plus fptq.hf.architecture (the HF class name) and fptq.arch_family
// (HfConfig::family) so the engine can tell the families apart.
void add_hf_config_metadata(const HfConfig& config, Metadata& md);

}  // namespace fptq::io
