// Hugging Face tokenizer.json (+ tokenizer_config.json) -> the GGUF
// tokenizer.ggml.* keys that fptq::tok::Tokenizer::from_metadata consumes.
//
// Supported: model type "BPE" either with byte_fallback (SentencePiece-style,
// tokenizer.ggml.model = "llama") or byte-level (ByteLevel pre-tokenizer,
// tokenizer.ggml.model = "gpt2", with tokenizer.ggml.pre chosen from the
// pre-tokenizer: "gpt2", "smollm", "llama-bpe", "qwen2").
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "io/metadata.h"

namespace fptq::io {

// GGUF token types (llama.cpp's values).
enum class TokenType : int32_t {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
};

struct HfTokenizerInputs {
  const nlohmann::json* tokenizer = nullptr;         // tokenizer.json (required)
  const nlohmann::json* tokenizer_config = nullptr;  // tokenizer_config.json (optional)
  // From config.json (optional): the vocabulary is padded to n_vocab with
  // UNUSED "[PAD<id>]" tokens; bos/eos are used when tokenizer_config.json
  // does not name them.
  std::optional<int64_t> n_vocab, bos_token_id, eos_token_id;
};

// Adds tokenizer.ggml.{model, pre, tokens, token_type, scores (llama), merges
// (gpt2), bos/eos/unknown/padding_token_id, add_bos_token, add_eos_token,
// add_space_prefix (llama)} and tokenizer.chat_template to `md`.
//
// Tokens are ordered by id (vocab and added_tokens). Types: "<0xXX>" byte
// tokens BYTE (llama), the model's unk_token UNKNOWN, special added tokens
// CONTROL, other added tokens USER_DEFINED, ids without a token UNUSED.
// Scores (llama): the BPE merge priority as a SentencePiece score: a token
// produced by merges scores -(rank of its first merge); other normal tokens
// score below every merge, in id order; the rest score 0.
//
// Throws fptq::Error naming `where` (the tokenizer.json path) for unsupported
// models or pre-tokenizers and for inconsistent input (ids out of range or
// reused, merges naming unknown tokens, special tokens not in the vocab).
void add_hf_tokenizer_metadata(const HfTokenizerInputs& in, std::string_view where, Metadata& md);

// Identifies the byte-level pre-tokenizer of a tokenizer.json
// ("gpt2", "smollm", "llama-bpe", "qwen2"); throws when not recognised.
std::string hf_pre_tokenizer_name(const nlohmann::json& tokenizer, std::string_view where);

}  // namespace fptq::io
