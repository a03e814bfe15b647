// Tokenizers: SentencePiece-style BPE with byte fallback (GGUF
// tokenizer.ggml.model = "llama") and byte-level BPE ("gpt2", with the
// pre-tokenizer regexes selected by tokenizer.ggml.pre).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/metadata.h"

namespace fptq::tok {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer described by the tokenizer.ggml.* keys (the HF loader
  // synthesizes the same keys from tokenizer.json). Throws fptq::Error naming
  // `where` when keys are missing or inconsistent.
  static std::unique_ptr<Tokenizer> from_metadata(const io::Metadata& md, std::string_view where);

  // Token ids for `text`; BOS is prepended when add_bos is true. Special
  // tokens written in the text (e.g. "<|im_start|>") are recognized when
  // parse_special is true.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special = false) const = 0;
  // The bytes a token stands for (may be a partial UTF-8 sequence); control
  // tokens such as BOS/EOS give "".
  virtual std::string token_bytes(int32_t id) const = 0;
  // Concatenated bytes of the tokens (SentencePiece: leading space of the
  // first token removed as SentencePiece does).
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;          // -1 if none
  virtual int32_t eos_id() const = 0;          // -1 if none
  virtual bool add_bos_by_default() const = 0; // tokenizer.ggml.add_bos_token (model default)
  virtual bool is_end_of_generation(int32_t id) const = 0;
  virtual std::string_view kind() const = 0;   // "llama (SentencePiece BPE)", "gpt2 (byte-level BPE, smollm)"
  virtual const std::string& token_text(int32_t id) const = 0;  // vocabulary entry as stored
};

}  // namespace fptq::tok
