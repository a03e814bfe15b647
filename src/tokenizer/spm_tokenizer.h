// SentencePiece-style BPE with byte fallback (tokenizer.ggml.model = "llama").
//
// encode: special tokens are split out first; each text fragment gets a
// leading space when add_space_prefix is set and it starts the input or
// follows a special token; spaces become U+2581 ("▁"); the fragment is cut
// into UTF-8 characters; then adjacent symbols whose concatenation is a token
// are merged, highest token score first (ties: leftmost first), until no pair
// is a token. A remaining symbol that is not a token is emitted as its bytes'
// <0xXX> tokens (one unknown token when the vocabulary lacks one of them;
// fptq::Error when it has no unknown token either). This is
// what llama.cpp and SentencePiece do for BPE models with byte fallback.
//
// Invalid UTF-8: each byte that is not part of a well-formed sequence is a
// symbol of its own, so it ends up as its <0xXX> token and decode gives the
// input back. (llama.cpp instead groups bytes by the length a lead byte
// announces, so a stray lead byte can swallow the next characters; on valid
// text both agree.)
//
// decode(encode(s)) == s for every byte string s without special-token text
// when the vocabulary has all 256 byte tokens, except that a U+2581 in s comes
// back as a space (SentencePiece cannot tell them apart).
#pragma once

#include <array>

#include "tokenizer/vocab_tokenizer.h"

namespace fptq::tok {

class SpmTokenizer final : public VocabTokenizer {
 public:
  // Throws fptq::Error naming `where` when the keys are missing or inconsistent.
  SpmTokenizer(const io::Metadata& md, std::string_view where);

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special = false) const override;
  std::string decode(std::span<const int32_t> ids) const override;

  std::string_view kind() const override { return "llama (SentencePiece BPE)"; }

  bool add_space_prefix() const { return add_space_prefix_; }

 private:
  // Merges one fragment (already space-escaped) and appends its ids.
  void encode_fragment(std::string_view text, std::vector<int32_t>* out) const;
  // The merge loop over one piece of a fragment.
  void merge_chunk(std::string_view text, std::vector<int32_t>* out) const;

  bool add_space_prefix_ = true;
  bool split_before_space_ = false;        // fragments may be merged word by word
  std::array<int32_t, 256> byte_token_{};  // <0xXX> token of each byte, or -1
};

}  // namespace fptq::tok
