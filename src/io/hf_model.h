// Hugging Face model directory (config.json + *.safetensors [+ index] +
// tokenizer.json) -> ModelFile with GGUF metadata keys, tensor names and
// layouts.
//
// Tensor data stay in the safetensors mappings, except the q/k projection
// weights (and Qwen2 q/k biases), whose rows are permuted from HF's
// rotate-half RoPE layout (pairs i, i + d/2 within each head) to the GGUF /
// llama.cpp adjacent-pair layout (2i, 2i + 1) into buffers owned by the
// ModelFile. dtypes are kept (F32, F16, BF16; others are rejected).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/hf_config.h"
#include "io/model_file.h"

namespace fptq::io {

// Loads the directory `dir`. Throws fptq::Error naming the file and the item
// for any problem: missing config.json, unsupported architecture, a tensor
// missing / unexpected / of the wrong shape or dtype, malformed safetensors,
// tokenizer problems. tokenizer.json is optional (no tokenizer keys without it).
std::shared_ptr<const ModelFile> read_hf_model(const std::string& dir);

// The GGUF name of an HF tensor name ("model.layers.3.self_attn.q_proj.weight"
// -> "blk.3.attn_q.weight"); "" for tensors fptq ignores
// (rotary_emb.inv_freq); nullopt for names it does not know.
std::optional<std::string> hf_to_gguf_tensor_name(std::string_view hf_name);

// Rotate-half -> adjacent-pair RoPE row permutation of a projection with
// `n_rows` rows of `row_bytes` bytes each, grouped into `n_heads` heads:
// dst row h*hd + 2i + s = src row h*hd + s*hd/2 + i (hd = n_rows / n_heads,
// even; s in {0, 1}). Biases are the case row_bytes = element size.
void permute_rope_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, uint64_t row_bytes,
                       int64_t n_heads);

}  // namespace fptq::io
