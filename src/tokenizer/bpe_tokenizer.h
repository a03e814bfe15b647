// Byte-level BPE (tokenizer.ggml.model = "gpt2").
//
// encode: special tokens are split out first; each text fragment is cut into
// words by the pre-tokenizer of tokenizer.ggml.pre; each word's bytes are
// mapped to characters (byte_unicode.h); adjacent symbols are merged by
// tokenizer.ggml.merges rank, lowest rank first (ties: leftmost first), until
// no adjacent pair has a merge; each symbol becomes its token.
//
// Invalid UTF-8 input: the pre-tokenizer sees each byte that is not part of a
// well-formed sequence as U+FFFD (so words split as llama.cpp splits them).
// The word keeps the original byte when the byte's character is a token, so
// decode gives it back; a byte whose character is missing from the
// vocabulary (SmolLM2 lacks e.g. 0xC0, 0xC1, 0xF5-0xFF) is encoded as U+FFFD,
// as llama.cpp encodes every invalid byte. No input is rejected.
//
// A character with no token (SmolLM2 lacks a few control bytes such as 0x04)
// becomes the unknown token when the vocabulary has one of type "unknown",
// and is dropped otherwise, as llama.cpp does.
#pragma once

#include <array>
#include <memory>
#include <unordered_map>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace fptq::tok {

class BpeTokenizer final : public VocabTokenizer {
 public:
  // Throws fptq::Error naming `where` when the keys are missing or
  // inconsistent, or tokenizer.ggml.pre names an unsupported pre-tokenizer.
  BpeTokenizer(const io::Metadata& md, std::string_view where);

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special = false) const override;
  std::string decode(std::span<const int32_t> ids) const override;

  std::string_view kind() const override { return kind_; }

  const PreTokenizer& pre_tokenizer() const { return *pre_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;  // symbol id of the merged text
  };
  // Symbol ids: token ids first, then strings that occur only in merges.
  int32_t symbol_id(std::string_view s) const;
  int32_t intern(std::string_view s);
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  // Appends the tokens of one word (original bytes, not yet mapped).
  void encode_word(std::string_view word_bytes, std::string* scratch,
                   std::vector<int32_t>* out) const;

  std::unique_ptr<PreTokenizer> pre_;
  std::string kind_;
  StringIdMap extra_symbols_;                  // merge strings that are not tokens
  std::vector<std::string> extra_text_;        // their texts, id = n_vocab + index
  std::unordered_map<uint64_t, Merge> merges_;  // (left, right) symbol ids -> merge
  std::array<bool, 256> byte_has_token_{};     // the byte's character is a token
  bool unk_usable_ = false;                    // unk exists and is of type unknown
};

}  // namespace fptq::tok
